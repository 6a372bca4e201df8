package rigname

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Max bounds a rig's name in bytes: far above any real worker name
// ("account.rig-name", a few dozen bytes), far below max_line_bytes, so
// that names cannot grow memory and the state file.
const Max = 256

// Check says why name is not one a rig may have (nil if it is). Miners
// send worker names as JSON strings, so a name no miner can have (invalid
// UTF-8, control characters) or an absurdly long one is a mistake or an
// attack.
func Check(name string) error {
	if name == "" || len(name) > Max {
		return fmt.Errorf("a rig name is 1 to %d bytes", Max)
	}
	if !utf8.ValidString(name) {
		return errors.New("a rig name must be UTF-8")
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return fmt.Errorf("a rig name has no control characters (found %U)", c)
		}
	}
	return nil
}
