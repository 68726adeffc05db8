// tier.go: the optional slower tiers a device may offer (host memory, disk) and moves between them.

package device

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Tier is where a buffer's content is: on the device, in host memory, or
// on disk. Only TierDevice counts in Stats.InUse and can be read by a node.
type Tier uint8

const (
	TierDevice Tier = iota
	TierHost
	TierDisk
)

var tierNames = [...]string{TierDevice: "device", TierHost: "host", TierDisk: "disk"}

func (t Tier) String() string {
	if int(t) < len(tierNames) {
		return tierNames[t]
	}
	return fmt.Sprintf("Tier(%d)", int(t))
}

// Tiered is implemented by devices that can move a buffer's content to a
// slower tier and back. A buffer keeps its identity (ID, Bytes, the
// Checker's view: live) wherever its content is; Free releases it from
// any tier.
type Tiered interface {
	// Move moves b's content to tier to and returns how long the copy
	// took (for Sim, the time it would take at the tiers' bandwidths).
	// Moving to the tier b is on does nothing. Move fails, moving nothing:
	//   - when ctx is done before or during the copy, with an error
	//     wrapping ctx.Err();
	//   - when b is not the device's (ErrForeignBuffer) or was freed
	//     (ErrUseAfterFree), or the device is closed (ErrClosed);
	//   - when the device does not offer to (ErrNoTier);
	//   - when to has no room, with an *OutOfMemoryError whose Tier is to;
	//   - when the tier's storage fails (a disk that is unwritable or
	//     full), with an error wrapping ErrTierIO.
	Move(ctx context.Context, b Buffer, to Tier) (time.Duration, error)
	// TierOf reports where b's content is.
	TierOf(b Buffer) (Tier, error)
	// TierStats reports the slower tiers' usage and the copies so far.
	TierStats() TierStats
}

// TierStats is the usage of a device's slower tiers.
type TierStats struct {
	Host, Disk TierUsage
	// Moves and Moved count the copies made and their bytes; Transfer is
	// their time.
	Moves    int
	Moved    int64
	Transfer time.Duration
}

// TierUsage is one tier's usage. Offered is false for a tier the device
// does not have.
type TierUsage struct {
	Offered   bool
	InUse     int64
	Peak      int64
	Capacity  int64 // 0: unlimited
	Bandwidth int64 // bytes per second, each way
}

var (
	// ErrNoTier: the device does not offer that tier.
	ErrNoTier = errors.New("device: tier not offered")
	// ErrTierIO: a tier's storage failed (disk unwritable or full).
	ErrTierIO = errors.New("device: tier storage failed")
)

// TransferTime is how long bytes take at bandwidth bytes per second (0
// for a bandwidth or size that is not positive).
func TransferTime(bytes, bandwidth int64) time.Duration {
	if bandwidth <= 0 || bytes <= 0 {
		return 0
	}
	return time.Duration(float64(bytes) / float64(bandwidth) * float64(time.Second))
}
