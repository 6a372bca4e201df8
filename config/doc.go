// Package config reads the hashgate configuration file (TOML) and checks it.
//
// It owns the shape of that file: its keys, their types, and what values
// are acceptable. Their defaults are the libraries' own: Default is built
// from stratum/proxy's, switcher's and switcher/fleet's exported defaults
// (a key left out of the file runs the daemon exactly as a zero field of
// that library's Config would), and only what belongs to the file itself
// (listen addresses, file names, the log) is defined here. It only parses and validates; it opens no
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
// The machinery underneath is package config/tomlfile, shared with the
// other TOML file ops edit, the switcher's policy, so that it is checked
// and reported the same way without the switcher importing this package
// (which imports the switcher for its defaults).
//
// [Warnings] lists things that are valid but probably not intended, such as
// max_connections above the process's open-file limit.
package config
