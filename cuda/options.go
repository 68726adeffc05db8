package cuda

// Option configures New.
type Option func(*options)

type options struct {
	capacity      int64 // 0: the whole GPU
	hostTier      bool
	hostCapacity  int64 // 0: unlimited
	hostBandwidth int64 // 0: measured
}

// WithCapacity caps the bytes the device hands out at once, to simulate a
// smaller card. The cap is at most the GPU's total memory; bytes <= 0 means
// no cap.
func WithCapacity(bytes int64) Option {
	return func(o *options) { o.capacity = max(bytes, 0) }
}

// WithHostTier gives the device a host tier (device.TierHost) of pinned
// host memory holding at most capacity bytes at once; capacity <= 0 means
// unlimited. Without it, Move to the host tier fails with device.ErrNoTier.
func WithHostTier(capacity int64) Option {
	return func(o *options) { o.hostTier, o.hostCapacity = true, max(capacity, 0) }
}

// WithHostBandwidth fixes the host tier's bandwidth that TierStats reports,
// in bytes per second each way. Without it (or with bytesPerSecond <= 0)
// TierStats reports the average measured over the moves so far, and
// device.DefaultHostBandwidth before the first.
func WithHostBandwidth(bytesPerSecond int64) Option {
	return func(o *options) { o.hostBandwidth = max(bytesPerSecond, 0) }
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
