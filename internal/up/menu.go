package up

import (
	"context"
	"fmt"
	"io"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// Choice is what the menu returns.
type Choice struct {
	Profile string
	Type    Type
}

// Menu asks for a profile and then a type in the terminal (arrows or j/k, Enter, Esc back, q quit).
func Menu(ctx context.Context, set *profiles.Set, host Host, in io.Reader, out io.Writer) (Choice, error) {
	p := tea.NewProgram(newMenu(set, host), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	final, err := p.Run()
	if err != nil {
		return Choice{}, fmt.Errorf("menu: %w", err)
	}
	m := final.(menu)
	if !m.done {
		return Choice{}, ErrCancelled
	}
	return Choice{Profile: m.picked[0], Type: Type(m.picked[1])}, nil
}

// option is one line of a menu step; an option with a reason in unavailable cannot be chosen.
type option struct {
	name, desc, unavailable string
}

// menu is the bubbletea model: step 0 picks the profile, step 1 the type.
type menu struct {
	steps   [2][]option
	titles  [2]string
	step    int
	cursor  int
	picked  [2]string
	note    string
	done    bool
	stopped bool
}

func newMenu(set *profiles.Set, host Host) menu {
	m := menu{titles: [2]string{"Pick a test-origin profile", "Pick a deployment type"}}
	for _, p := range set.Origins {
		m.steps[0] = append(m.steps[0], option{name: p.Name, desc: p.Description})
	}
	for _, t := range Types() {
		o := option{name: string(t), desc: t.Describe()}
		if t == VM {
			if err := host.VMSupport(); err != nil {
				o.unavailable = err.Error()
			}
		}
		m.steps[1] = append(m.steps[1], o)
	}
	m.cursor = m.index(DefaultProfile)
	return m
}

func (m menu) index(name string) int {
	for i, o := range m.steps[m.step] {
		if o.name == name {
			return i
		}
	}
	return 0
}

func (m menu) Init() tea.Cmd { return nil }

func (m menu) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	n := len(m.steps[m.step])
	switch k.String() {
	case "ctrl+c", "q":
		m.stopped = true
		return m, tea.Quit
	case "esc", "left", "backspace":
		if m.step == 0 {
			m.stopped = true
			return m, tea.Quit
		}
		m.step, m.note = 0, ""
		m.cursor = m.index(m.picked[0])
	case "up", "k":
		m.cursor = (m.cursor + n - 1) % n
	case "down", "j", "tab":
		m.cursor = (m.cursor + 1) % n
	case "enter", "right", "space":
		o := m.steps[m.step][m.cursor]
		if o.unavailable != "" {
			m.note = o.unavailable
			return m, nil
		}
		m.picked[m.step], m.note = o.name, ""
		if m.step == 1 {
			m.done = true
			return m, tea.Quit
		}
		m.step = 1
		m.cursor = m.index(string(DefaultType))
	}
	return m, nil
}

func (m menu) View() tea.View { return tea.NewView(m.text()) }

func (m menu) text() string {
	if m.done || m.stopped {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "go-ffmpeg-hls-swarm up: %s (%d/2)\n\n", m.titles[m.step], m.step+1)
	if m.step == 1 {
		fmt.Fprintf(&b, "  profile: %s\n\n", m.picked[0])
	}
	width := 0
	for _, o := range m.steps[m.step] {
		width = max(width, len(o.name))
	}
	for i, o := range m.steps[m.step] {
		cursor := "  "
		if i == m.cursor {
			cursor = "> "
		}
		desc := o.desc
		if o.unavailable != "" {
			desc += " [unavailable here]"
		}
		fmt.Fprintf(&b, "%s%-*s  %s\n", cursor, width, o.name, desc)
	}
	if m.note != "" {
		fmt.Fprintf(&b, "\n%s\n", m.note)
	}
	b.WriteString("\n↑/↓ move · Enter choose · Esc back · q quit\n")
	return b.String()
}
