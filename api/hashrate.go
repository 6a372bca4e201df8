package api

import (
	"math"
	"strconv"
)

// hashUnits are the prefixes of H/s, each 1000 times the one before.
var hashUnits = []string{"H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s", "ZH/s"}

// FormatHashrate prints a rate given in TH/s with the unit that keeps it
// between 1 and 1000 (3 significant digits): "98.6 TH/s", "1.23 PH/s",
// "642 H/s"; below 1 H/s in H/s ("0.002 H/s"), 0 as "0 H/s".
func FormatHashrate(ths float64) string {
	hs := ths * 1e12
	if !(hs > 0) || math.IsInf(hs, 0) {
		return "0 H/s"
	}
	i := 0
	for i < len(hashUnits)-1 && hs >= 999.5 {
		hs /= 1000
		i++
	}
	var s string
	switch {
	case hs >= 99.95:
		s = strconv.FormatFloat(hs, 'f', 0, 64)
	case hs >= 9.995:
		s = strconv.FormatFloat(hs, 'f', 1, 64)
	case hs >= 0.9995:
		s = strconv.FormatFloat(hs, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(hs, 'g', 2, 64)
	}
	return s + " " + hashUnits[i]
}
