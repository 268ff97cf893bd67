// Package liveview is the swarm's live terminal dashboard: clients, throughput, segment
// latencies, errors, rebuffering and their sparklines, redrawn from each timeseries.Record (the
// same records --timeseries writes and the status line prints: one data path, no sampler of its
// own). q or Ctrl-C asks the run to stop the way SIGTERM does; the summary follows the dashboard.
//
// It is drawn with Bubble Tea v2, inline (not on the alternate screen), so the last frame stays
// above the summary. Bubble Tea v2 sends no terminal query at start and waits for none.
package liveview

import (
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/term"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
)

// Usable reports whether a dashboard can run: in is a terminal to read keys from and out a
// terminal to draw on.
func Usable(in io.Reader, out io.Writer) bool {
	return isTerminal(in) && isTerminal(out)
}

func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Options describe the run the dashboard shows.
type Options struct {
	In  io.Reader // keys
	Out io.Writer // the screen
	URL string
	// Start is the run's start (the records' elapsed time counts from it); Duration its
	// --duration (0: until stopped); Interval its --progress-interval.
	Start    time.Time
	Duration time.Duration
	Interval time.Duration
	// Stop is called once, on the first q or Ctrl-C: it must stop the run as SIGTERM does.
	Stop func()
	// Logs, when set, shows its last lines under the dashboard while it runs.
	Logs *Logs
	// History is how many records the sparklines keep (default 720).
	History int
}

// View is a running dashboard. It is a timeseries.Output.
type View struct {
	p    *tea.Program
	logs *Logs
	done chan struct{}
	err  error
	once sync.Once
}

// Start draws the dashboard on o.Out until Close.
func Start(o Options) *View {
	if o.History <= 0 {
		o.History = 720
	}
	v := &View{logs: o.Logs, done: make(chan struct{})}
	v.p = tea.NewProgram(newModel(o), tea.WithInput(o.In), tea.WithOutput(o.Out),
		tea.WithoutSignalHandler(), tea.WithFPS(10),
		tea.WithWindowSize(100, 40)) // the size when Out is not a terminal (tests); a terminal's own size wins
	if v.logs != nil {
		v.logs.attach(v.p)
	}
	go func() {
		defer close(v.done)
		_, v.err = v.p.Run()
	}()
	go v.secondSignal()
	return v
}

// secondSignal keeps the CLI's rule that a second SIGINT/SIGTERM ends the process at once, and
// gives the terminal back first: while the dashboard runs, the second signal restores the
// terminal and is then raised again with its default action (the first one stops the run
// gracefully, through the caller's signal.NotifyContext).
func (v *View) secondSignal() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	seen := 0
	for {
		select {
		case <-v.done:
			return
		case sig := <-sigs:
			if seen++; seen < 2 {
				continue
			}
			v.p.Kill()
			<-v.done
			signal.Reset(syscall.SIGINT, syscall.SIGTERM) // every handler, the caller's too
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
			return
		}
	}
}

// Write shows a record (timeseries.Output).
func (v *View) Write(r timeseries.Record) error {
	v.p.Send(recordMsg(r))
	return nil
}

// Stopping shows that the run is stopping (a signal, or the end of its duration).
func (v *View) Stopping() { v.p.Send(stoppingMsg{}) }

// Close draws the last frame, gives the terminal back as it was, then writes the log lines that
// came while the dashboard ran to the log's own writer. Call it before printing the summary.
func (v *View) Close() error {
	v.once.Do(func() {
		v.p.Quit()
		<-v.done
		if v.logs != nil {
			v.logs.detach()
		}
	})
	return v.err
}

type (
	recordMsg   timeseries.Record
	stoppingMsg struct{}
	tickMsg     time.Time
	logMsg      string
)

// Logs is the run's log output: its writer, or, while a dashboard runs, kept (up to maxLogLines)
// and shown in the dashboard's last lines, then written to its writer when the dashboard closes.
type Logs struct {
	mu      sync.Mutex
	w       io.Writer
	p       *tea.Program
	kept    []string
	dropped int
}

const maxLogLines = 10000

// NewLogs writes to w until a dashboard attaches.
func NewLogs(w io.Writer) *Logs { return &Logs{w: w} }

// Write writes one or more complete log lines (a slog handler writes one record per call).
func (l *Logs) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.p == nil {
		return l.w.Write(b)
	}
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if len(l.kept) == maxLogLines {
			l.kept = l.kept[1:]
			l.dropped++
		}
		l.kept = append(l.kept, line)
		l.p.Send(logMsg(line)) // returns at once when the program has ended
	}
	return len(b), nil
}

func (l *Logs) attach(p *tea.Program) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p = p
}

func (l *Logs) detach() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p = nil
	if l.dropped > 0 {
		_, _ = io.WriteString(l.w, "(the dashboard kept the last "+itoa(maxLogLines)+" log lines; "+itoa(l.dropped)+" earlier ones are not shown)\n")
	}
	for _, line := range l.kept {
		_, _ = io.WriteString(l.w, line+"\n")
	}
	l.kept, l.dropped = nil, 0
}
