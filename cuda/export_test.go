//go:build cuda

package cuda

import (
	"fmt"
	"unsafe"

	"github.com/ebbgraph/ebb/engine/device"
)

// WriteBuffer copies p into b's VRAM; ReadBuffer returns b's VRAM's bytes.
// b must be on the device and len(p) == b.Bytes().
func WriteBuffer(d device.Device, b device.Buffer, p []byte) error { return copyBuffer(d, b, p, false) }

func ReadBuffer(d device.Device, b device.Buffer) ([]byte, error) {
	p := make([]byte, b.Bytes())
	return p, copyBuffer(d, b, p, true)
}

func copyBuffer(d device.Device, b device.Buffer, p []byte, toHost bool) error {
	g := d.(*gpu)
	gb, err := g.own(b)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case gb.freed || gb.tier != device.TierDevice:
		return fmt.Errorf("%v is freed or not on the device", gb)
	case int64(len(p)) != gb.bytes:
		return fmt.Errorf("%d bytes for %v", len(p), gb)
	case gb.bytes == 0:
		return nil
	}
	if toHost {
		g.ctx.MemcpyDtoH(unsafe.Pointer(&p[0]), gb.ptr, gb.bytes)
	} else {
		g.ctx.MemcpyHtoD(gb.ptr, unsafe.Pointer(&p[0]), gb.bytes)
	}
	return g.ctx.Error()
}
