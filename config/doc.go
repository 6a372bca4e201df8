// Package config reads the hashgate configuration file (TOML) and checks it.
//
// It owns the shape of that file: its keys, their types, their defaults, and
// what values are acceptable. It only parses and validates; it opens no
// sockets and starts nothing. The one file it reads besides the config itself
// is an API token_file, so that a missing token is caught at load time.
//
// Every problem found is reported, not just the first, as an [Error] that
// prints as FILE:LINE:COL: message, where LINE:COL is the offending key (or the
// array element, or the table header when a required key is missing).
//
// Relative paths in the file (switcher.policy, switcher.state_file,
// api.tokens.token_file) are resolved against the directory of the config file.
//
// [ParseDocument] and [Decoder] are the machinery underneath, exported so
// that the other TOML file ops edit, the switcher's policy, is checked and
// reported the same way.
//
// [Warnings] lists things that are valid but probably not intended, such as
// max_connections above the process's open-file limit.
package config
