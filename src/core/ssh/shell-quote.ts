/** One shell word holding exactly `value`: single quotes, each `'` written as `'\''`. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the script ("$1") so that it stops when the engine hangs up. Without a terminal, sshd
 * does not kill a command whose client went away (and OpenSSH often refuses signal requests),
 * so the script would run to its end after a cancel. Here it runs in its own session
 * (setsid, so its pid names its process group) with stdin from /dev/null, while a watcher
 * reads the channel's stdin, which the engine never writes to: end of input means the client
 * closed the channel, and the watcher then terminates the script's whole process group. A
 * script that ends on its own takes the watcher with it and passes on its exit status.
 */
const HANG_UP_WATCHER = [
  'setsid bash -c "$1" pe-script </dev/null &',
  'pid=$!',
  // Background commands get /dev/null as stdin; fd 3 keeps the channel for the watcher.
  'exec 3<&0',
  '( read -r _ <&3; kill -TERM -- -"$pid" ) >/dev/null 2>&1 &',
  'watcher=$!',
  'wait "$pid"; code=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join('\n');

/**
 * The command line that runs `script` on a server: bash with the script as an argument (so
 * the script's own stdin is /dev/null and a command in it that reads stdin cannot swallow the
 * rest of it, as with `bash -s`), under the watcher above. Through `sudo -n` unless the login
 * is root.
 */
export function remoteCommand(script: string, user: string): string {
  return `${user === 'root' ? '' : 'sudo -n '}bash -c ${shQuote(HANG_UP_WATCHER)} pe-wrapper ${shQuote(script)}`;
}
