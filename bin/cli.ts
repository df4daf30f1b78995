import { EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from './command';
import { appspecCommand } from './commands/appspec';
import { breakGlassCommand } from './commands/break-glass';
import { checkCommand } from './commands/check';
import { publishCommand } from './commands/publish';
import { approveCommand, rejectCommand } from './commands/decide';
import { configSchemaCommand } from './commands/config-schema';
import { rehearseCommand } from './commands/rehearse';
import { schemaSnapshotCommand } from './commands/schema-snapshot';
import { validateCommand } from './commands/validate';
import { watchCommand } from './commands/watch';

/** Every subcommand; `greenlight help` lists them in this order. */
export const commands: Command[] = [
  checkCommand,
  validateCommand,
  watchCommand,
  approveCommand,
  rejectCommand,
  rehearseCommand,
  configSchemaCommand,
  schemaSnapshotCommand,
  appspecCommand,
  publishCommand,
  breakGlassCommand,
];

function help(io: CommandIO): void {
  const width = Math.max(...commands.map((c) => c.name.length));
  io.stdout.write('usage: greenlight <command> [options]\n\ncommands:\n');
  for (const c of commands) io.stdout.write(`  ${c.name.padEnd(width)}  ${c.summary}\n`);
  io.stdout.write('\n`greenlight <command> --help` shows a command’s options.\n');
}

export async function main(argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    help(io);
    return name ? EXIT_OK : EXIT_USAGE;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`greenlight: unknown command "${name}"\n`);
    help(io);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`usage: ${command.usage}\n\n${command.summary}\n`);
    return EXIT_OK;
  }
  return command.run(rest, io);
}

function defaultIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
