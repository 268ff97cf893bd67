// Package progress shows how a build and a push advance: mpb bars when stderr is a terminal,
// plain lines (one per 10 % of the layers, per 25 % of the bytes) otherwise, so CI logs stay short.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Reporter makes progress counters on one writer.
type Reporter struct {
	w   io.Writer
	tty bool
	mu  sync.Mutex
	p   *mpb.Progress
}

// New reports on w with bars when tty is true and plain lines otherwise.
func New(w io.Writer, tty bool) *Reporter {
	r := &Reporter{w: w, tty: tty}
	if tty {
		r.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithAutoRefresh())
	}
	return r
}

// Stderr reports on os.Stderr, with bars only when it is a terminal.
func Stderr() *Reporter {
	return New(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())))
}

// Counter tracks a known number of steps (layers) or bytes.
type Counter struct {
	r         *Reporter
	name      string
	bytes     bool
	mu        sync.Mutex
	total     int64
	cur       int64
	lastTenth int64
	bar       *mpb.Bar
}

// Steps starts a counter of total items, e.g. the layers of one arch.
func (r *Reporter) Steps(name string, total int) *Counter {
	return r.counter(name, int64(total), false)
}

// Bytes starts a byte counter. Its total is fixed by the first one known: total here, or the
// first Set with a total; a counter never goes backwards, so the lines it prints only rise.
func (r *Reporter) Bytes(name string, total int64) *Counter { return r.counter(name, total, true) }

func (r *Reporter) counter(name string, total int64, bytes bool) *Counter {
	c := &Counter{r: r, name: name, total: total, bytes: bytes}
	if r.p != nil {
		counters := decor.CountersNoUnit("%d / %d")
		if bytes {
			counters = decor.Counters(decor.SizeB1024(0), "% .1f / % .1f")
		}
		c.bar = r.p.AddBar(total,
			mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), counters),
			mpb.AppendDecorators(decor.Percentage()),
		)
	}
	return c
}

// Add advances the counter by n.
func (c *Counter) Add(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur += n
	c.update()
}

// Set moves the counter to cur. A total is taken only while none is known (a writer such as
// go-containerregistry's push grows its total as it goes; the counter's total, once known,
// stays). cur never moves backwards (a retried upload restarts its bytes) nor past the total.
func (c *Counter) Set(cur, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total <= 0 && total > 0 {
		c.total = total
		if c.bar != nil {
			c.bar.SetTotal(total, false)
		}
	}
	if c.total > 0 {
		cur = min(cur, c.total)
	}
	if cur <= c.cur {
		return
	}
	c.cur = cur
	c.update()
}

// Finish completes the counter: a write that succeeded has written everything (a push skips
// manifests the registry already has, which go-containerregistry does not count).
func (c *Counter) Finish() {
	c.mu.Lock()
	total := c.total
	c.mu.Unlock()
	if total > 0 {
		c.Set(total, 0)
	}
}

func (c *Counter) update() {
	if c.bar != nil {
		c.bar.SetCurrent(c.cur)
		return
	}
	if c.total <= 0 {
		return
	}
	steps := int64(10) // a line per 10 % of the items, per 25 % of the bytes
	if c.bytes {
		steps = 4
	}
	tenth := c.cur * steps / c.total
	if tenth == c.lastTenth {
		return
	}
	c.lastTenth = tenth
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	if c.bytes {
		fmt.Fprintf(c.r.w, "%s: %d%% (%d of %d bytes)\n", c.name, c.cur*100/c.total, c.cur, c.total)
	} else {
		fmt.Fprintf(c.r.w, "%s: %d of %d\n", c.name, c.cur, c.total)
	}
}

// Done completes the counter (a bar that stopped short is aborted).
func (c *Counter) Done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != nil {
		if c.cur >= c.total {
			c.bar.SetTotal(c.cur, true)
		} else {
			c.bar.Abort(false)
		}
	}
}

// Updates returns a channel for ggcr's remote.WithProgress / tarball.WithProgress feeding a byte
// counter of total bytes (0: the first update's total), and a finish function to call with the
// write's error after it returned (ggcr closes the channel in some paths and not in others;
// finish works either way, and completes the counter when the write succeeded).
func (r *Reporter) Updates(name string, total int64) (chan<- v1.Update, func(error)) {
	ch := make(chan v1.Update, 64)
	stop := make(chan struct{})
	done := make(chan struct{})
	c := r.Bytes(name, total)
	apply := func(u v1.Update) {
		if u.Error == nil {
			c.Set(u.Complete, u.Total)
		}
	}
	go func() {
		defer close(done)
		for {
			select {
			case u, ok := <-ch:
				if !ok {
					return
				}
				apply(u)
			case <-stop:
				for {
					select {
					case u, ok := <-ch:
						if !ok {
							return
						}
						apply(u)
					default:
						return
					}
				}
			}
		}
	}()
	var once sync.Once
	return ch, func(err error) {
		once.Do(func() {
			close(stop)
			<-done
			if err == nil {
				c.Finish()
			}
			c.Done()
		})
	}
}

// Wait lets the bars finish drawing.
func (r *Reporter) Wait() {
	if r.p != nil {
		r.p.Wait()
	}
}

// Printf writes a plain line (above the bars on a terminal).
func (r *Reporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		fmt.Fprintf(r.p, format+"\n", args...)
		return
	}
	fmt.Fprintf(r.w, format+"\n", args...)
}
