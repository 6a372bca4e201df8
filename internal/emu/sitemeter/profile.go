package sitemeter

import (
	"sort"
	"time"
)

// Point is the draw at one moment of a profile.
type Point struct {
	At time.Duration
	KW float64
}

// Profile is a draw over time: straight lines between points, repeating
// with the last point's At as its period (a profile of one point is
// flat). Points must be in order of At.
type Profile []Point

// At is the draw d into the profile.
func (p Profile) At(d time.Duration) float64 {
	switch len(p) {
	case 0:
		return 0
	case 1:
		return p[0].KW
	}
	if period := p[len(p)-1].At; period > 0 {
		d %= period
		if d < 0 {
			d += period
		}
	}
	i := sort.Search(len(p), func(i int) bool { return p[i].At > d })
	if i == 0 {
		return p[0].KW
	}
	if i == len(p) {
		return p[len(p)-1].KW
	}
	a, b := p[i-1], p[i]
	if b.At == a.At {
		return b.KW
	}
	f := float64(d-a.At) / float64(b.At-a.At)
	return a.KW + f*(b.KW-a.KW)
}

// Training is a training job's shape over period, between low and high
// kW: idle, a ramp up over a tenth of the period (thousands of GPUs
// starting), a plateau with a checkpoint dip and a spike above it, then
// a fast drop back to idle.
func Training(period time.Duration, low, high float64) Profile {
	at := func(f float64) time.Duration { return time.Duration(f * float64(period)) }
	spike := high + (high-low)*0.1
	return Profile{
		{0, low}, {at(0.10), low},
		{at(0.20), high}, {at(0.40), high},
		{at(0.42), (low + high) / 2}, {at(0.46), (low + high) / 2}, // checkpoint
		{at(0.48), high}, {at(0.60), high},
		{at(0.61), spike}, {at(0.63), spike}, {at(0.64), high},
		{at(0.80), high}, {at(0.82), low},
		{period, low},
	}
}

// Points is a profile from (seconds, kW) pairs: Points(0, 40, 6, 100) is
// 40 kW at 0 s rising to 100 kW at 6 s. An odd last value is ignored.
func Points(secondsKW ...float64) Profile {
	p := make(Profile, 0, len(secondsKW)/2)
	for i := 0; i+1 < len(secondsKW); i += 2 {
		p = append(p, Point{At: time.Duration(secondsKW[i] * float64(time.Second)), KW: secondsKW[i+1]})
	}
	return p
}
