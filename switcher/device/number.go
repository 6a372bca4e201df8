package device

import (
	"bytes"
	"strconv"
)

// Number is a JSON number that firmware sometimes sends as a string
// ("104500.5" or 104500.5). Empty, "" and null read as zero; anything
// else that is not a number is an error.
type Number float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(bytes.TrimSpace(b), `"`)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*n = Number(f)
	return nil
}
