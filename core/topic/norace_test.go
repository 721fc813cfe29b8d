//go:build !race

package topic

// raceEnabled scales down the randomized tests, which run ~10× slower under
// the race detector.
const raceEnabled = false
