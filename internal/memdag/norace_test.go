//go:build !race

package memdag

const raceEnabled = false
