// Package termsafe renders text that came from outside (a worker name a
// miner chose, a pool's error message, a line of a config file) for a
// terminal. Such text may hold ESC sequences that recolour, move the cursor,
// rewrite the title or (on some terminals) answer back into the shell's
// input, BEL, carriage returns that overwrite the line before, or newlines
// that forge table rows; all of that reaches the operator raw when printed
// as is. String shows each of these as a visible Go escape instead.
package termsafe
