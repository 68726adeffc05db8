package device

import (
	"fmt"
	"math/big"
	"strings"
)

// byteUnits maps a lower-case unit to its size. Every unit is binary:
// "G", "GB" and "GiB" all mean 2^30 bytes, as on a GPU's spec sheet.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// ParseBytes parses a size such as "22GiB", "22 GiB", "1.5GiB", "512MiB",
// "100KiB" or "1024" (bytes). Units are case-insensitive and binary: K, KB
// and KiB are 1024 bytes, and likewise M, G and T, so "4GB" is 4 GiB. A
// fraction of a byte is dropped. Negative sizes, exponents and sizes above
// math.MaxInt64 are errors.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("size %q: empty, want a size such as 22GiB", s)
	}
	if t[0] == '-' {
		return 0, fmt.Errorf("size %q: negative", s)
	}
	i := 0
	dots := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		if t[i] == '.' {
			dots++
		}
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" || num == "." || dots > 1 {
		return 0, fmt.Errorf("size %q: want a number and an optional unit (B, KiB, MiB, GiB, TiB), such as 22GiB", s)
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q, want B, KiB, MiB, GiB or TiB", s, strings.TrimSpace(t[i:]))
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("size %q: bad number %q", s, num)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom()) // floor: r >= 0
	if !n.IsInt64() {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n.Int64(), nil
}
