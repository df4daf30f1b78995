/**
 * What a gate tells people while it waits: an approval was requested, and how it was decided.
 * The notification channels (`notify:`) subscribe through `Announce`; the gate logs every event
 * itself whether or not anyone is listening.
 */
export type GateEvent =
  | {
      kind: 'approval-requested';
      deploymentId: string;
      lifecycleEvent: string;
      check: string;
      message?: string;
      requestedAt: string;
      timeoutAt: string;
      /** The commands an approver runs, ready to paste. */
      approveCommand: string;
      rejectCommand: string;
    }
  | {
      kind: 'approval-decided';
      deploymentId: string;
      lifecycleEvent: string;
      check: string;
      decision: 'approved' | 'rejected' | 'timed-out';
      approver?: string;
      reason?: string;
    };

/** Delivers a gate event to the notification channels; a failure is logged and never changes the verdict. */
export type Announce = (event: GateEvent) => Promise<void>;

/** The announcer used when a handler is given none: the log line the gate writes is the only trace. */
export const defaultAnnounce: Announce = async () => {};
