package sink

import (
	"context"
	"io"
)

// ctxWriter stops a long write when its context is cancelled (Ctrl-C during a 200 MB tarball).
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
