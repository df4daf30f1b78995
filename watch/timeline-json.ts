import { redact, redactText } from '../lib/redact';
import { CAUSE_IDS } from '../checks/diagnosis/known-causes';
import { TIMELINE_EVENT_TYPES, type TimelineEvent } from './timeline';

/** One `--json` line: the event with its time as ISO 8601. */
export function timelineJsonLine(event: TimelineEvent): string {
  return JSON.stringify({
    time: new Date(event.at).toISOString(),
    type: event.type,
    message: redactText(event.message),
    ...(event.data ? { data: redact(event.data) } : {}),
  });
}

/** The JSON Schema (2020-12) of each `greenlight watch --json` line; the README documents the same. */
export function timelineJsonSchema() {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'greenlight watch event',
    type: 'object',
    required: ['time', 'type', 'message'],
    additionalProperties: false,
    properties: {
      time: { type: 'string', format: 'date-time', description: 'when the watch saw it (UTC)' },
      type: { enum: [...TIMELINE_EVENT_TYPES] },
      message: { type: 'string', description: 'the line the plain output prints' },
      data: {
        type: 'object',
        description:
          'fields of the event: for `outcome` { ending }, for `diagnosis` { cause, title, evidence, fix }, otherwise what was read',
      },
    },
    allOf: [
      {
        if: { properties: { type: { const: 'outcome' } } },
        then: {
          required: ['data'],
          properties: {
            data: {
              type: 'object',
              required: ['ending'],
              properties: {
                ending: {
                  enum: [
                    'completed',
                    'failed',
                    'rolled-back',
                    'stalled',
                    'unreachable',
                    'not-found',
                    'interrupted',
                  ],
                },
              },
            },
          },
        },
      },
      {
        if: { properties: { type: { const: 'diagnosis' } } },
        then: {
          required: ['data'],
          properties: {
            data: {
              type: 'object',
              required: ['cause', 'title', 'evidence', 'fix'],
              properties: {
                cause: { enum: [...CAUSE_IDS] },
                title: { type: 'string' },
                evidence: { type: 'string' },
                fix: { type: 'string' },
              },
            },
          },
        },
      },
    ],
  };
}
