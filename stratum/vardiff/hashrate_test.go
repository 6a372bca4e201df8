package vardiff

import "time"

// Conversions between work, hashrate and difficulty the tests reason
// with (the proxy's hashrate figures come from vardiff's own estimate).

// HashrateFromWork is the hashrate, in hashes per second, that finds
// shares worth work (the sum of their difficulties) in elapsed:
// work × 2^32 / seconds. It is 0 for a non-positive elapsed.
func HashrateFromWork(work float64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return work * two32 / elapsed.Seconds()
}

// DifficultyForHashrate is the difficulty at which a miner of hashrate
// hashes per second finds one share every shareSeconds on average:
// hashrate × shareSeconds / 2^32.
func DifficultyForHashrate(hashrate, shareSeconds float64) float64 {
	return hashrate * shareSeconds / two32
}
