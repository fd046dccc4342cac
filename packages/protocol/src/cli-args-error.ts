/**
 * What a CLI says of a command line node:util `parseArgs` refused: one short
 * line in the CLIs' own words. Node's messages run over lines and give advice
 * for positionals that a command without them does not take.
 */
export function describeArgsError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null | undefined)?.code;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      if (option) return `unknown option ${option}`;
      break;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (!option) break;
      // `--weight -1`: the value looks like an option.
      if (message.includes('ambiguous')) {
        return `${option} needs a value; for one that starts with "-", write ${option}=<value>`;
      }
      if (message.includes('argument missing')) return `${option} needs a value`;
      if (message.includes('does not take an argument')) return `${option} takes no value`;
      break;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const argument = /'([^']*)'/.exec(message)?.[1];
      if (argument !== undefined) return `unexpected argument ${JSON.stringify(argument)}`;
      break;
    }
  }
  return message.split('\n')[0] ?? message;
}
