package cuda

// Option configures New.
type Option func(*options)

type options struct {
	capacity int64 // 0: the whole GPU
}

// WithCapacity caps the bytes the device hands out at once, to simulate a
// smaller card. The cap is at most the GPU's total memory; bytes <= 0 means
// no cap.
func WithCapacity(bytes int64) Option {
	return func(o *options) { o.capacity = max(bytes, 0) }
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
