package config

import "github.com/hashgate/hashgate/config/tomlfile"

// The config file's types that come from tomlfile, under the names the
// rest of hashgate has always used: every error Load gives is Errors.
type (
	Error  = tomlfile.Error
	Errors = tomlfile.Errors
)

// decoder reads the config file: tomlfile's Decoder, with the config
// file's tables and checks as its methods (decode.go).
type decoder struct {
	*tomlfile.Decoder
}
