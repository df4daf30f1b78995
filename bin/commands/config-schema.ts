import { builtinCheckTypes } from '../../checks/registry';
import { configJsonSchema } from '../../config/config-schema';
import { EXIT_OK, type Command } from '../command';

export const configSchemaCommand: Command = {
  name: 'config-schema',
  summary: 'Print the JSON Schema of greenlight.yml (for editors).',
  usage: 'greenlight config-schema',
  async run(_args, io) {
    io.stdout.write(JSON.stringify(configJsonSchema(builtinCheckTypes), null, 2) + '\n');
    return EXIT_OK;
  },
};
