package stratum

import "unsafe"

// bytesToStringNoCopy views b as a string for reading only; the string
// must not outlive b or be kept (ParseAnswerLine returns only numbers).
func bytesToStringNoCopy(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
