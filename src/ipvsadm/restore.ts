// -R input: how ipvsadm's config_stream_read() cuts stdin into command lines.
//
// Each line is split on blanks (space, tab, CR); every token that is exactly "ipvsadm"
// is dropped; a line left without tokens is skipped. '#' is NOT a comment here (the
// ipvsadm-restore wrapper greps '^#' lines away before piping into -R). Each returned
// token list is one command line for parseArgs(tokens, { readingStdin: true }).

export function splitRestoreLines(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const tokens = line.split(/[ \t\r]+/).filter((t) => t.length > 0 && t !== 'ipvsadm');
    if (tokens.length > 0) out.push(tokens);
  }
  return out;
}
