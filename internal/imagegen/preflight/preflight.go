// Package preflight checks a build's inputs before any layer is built: every ELF program and
// library of an arch's closure is for that arch, and the entrypoint and healthcheck programs
// exist in the image and can be executed there (right machine, its loader or #! interpreter
// in the image, an execute bit for the image's user).
package preflight

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
)

// machines are the ELF machines of imagegen's arches.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// machineName says which arch an ELF machine is, for people.
func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86-64 (amd64)"
	case elf.EM_AARCH64:
		return "AArch64 (arm64)"
	case elf.EM_386:
		return "i386"
	case elf.EM_ARM:
		return "32-bit ARM"
	}
	return m.String()
}

// CheckArch fails on the first ELF executable or shared library of g whose machine is not
// arch's, naming the file.
func CheckArch(ctx context.Context, g *closure.Graph, arch string) error {
	want, ok := machines[arch]
	if !ok {
		return fmt.Errorf("unknown arch %q", arch)
	}
	for _, p := range g.SortedPaths() {
		err := filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			m, ok, err := elfMachine(file)
			if err != nil || !ok || m == want {
				return err
			}
			return fmt.Errorf("the %s closure holds %s, an ELF program or library for %s: an %s image needs a closure built for %s (e.g. --root %s=.#packages.%s.NAME)",
				arch, file, machineName(m), arch, nixSystem(arch), arch, nixSystem(arch))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func nixSystem(arch string) string {
	if arch == "arm64" {
		return "aarch64-linux"
	}
	return "x86_64-linux"
}

// elfMachine reads an ELF executable's or shared library's machine; ok is false for any other
// file (object files and core dumps included).
func elfMachine(file string) (elf.Machine, bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != elf.ELFMAG {
		return 0, false, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return 0, false, nil // not a well-formed ELF file: not a program the kernel would run either
	}
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return 0, false, nil
	}
	return ef.Machine, true, nil
}

// Image is the file system an image will have: the closure's store paths (read from the host's
// store) and the customisation layer's symlinks.
type Image struct {
	Arch  string
	Graph *closure.Graph
	// Symlinks are the customisation layer's links (image path → target), e.g. /bin/app.
	Symlinks map[string]string
	// Path is the image's PATH, where a program named without a slash is looked up.
	Path string
	// UID runs the programs; a non-root user needs an execute bit for others (files are 0:0).
	UID int
}

// Program fails unless argv0 (of what: "entrypoint", "healthcheck") names a program that exists
// in the image and can be executed there.
func (im *Image) Program(what, argv0 string) error {
	if argv0 == "" {
		return fmt.Errorf("%s is empty: name the program to run", what)
	}
	if !strings.Contains(argv0, "/") {
		for _, dir := range filepath.SplitList(im.Path) {
			if _, err := im.resolve(path.Join(dir, argv0)); err == nil {
				return im.program(what, path.Join(dir, argv0), 0)
			}
		}
		return fmt.Errorf("%s program %q is not on the %s image's PATH %s: %s", what, argv0, im.Arch, im.Path, im.offer())
	}
	return im.program(what, argv0, 0)
}

func (im *Image) program(what, p string, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%s %s: too many #! interpreters", what, p)
	}
	host, err := im.resolve(p)
	if err != nil {
		return fmt.Errorf("%s program %s does not exist in the %s image (%v): %s", what, p, im.Arch, err, im.offer())
	}
	fi, err := os.Stat(host)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s program %s is not a file in the %s image", what, p, im.Arch)
	}
	bit := fs.FileMode(0o111)
	if im.UID != 0 {
		bit = 0o001 // the image's files belong to root: another user needs the bit for others
	}
	if fi.Mode().Perm()&bit == 0 {
		return fmt.Errorf("%s program %s (%s) is not executable by uid %d in the %s image (mode %v)", what, p, host, im.UID, im.Arch, fi.Mode().Perm())
	}
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
		ef, err := elf.NewFile(f)
		if err != nil {
			return fmt.Errorf("%s program %s (%s) is a damaged ELF file: %v", what, p, host, err)
		}
		if want := machines[im.Arch]; ef.Machine != want {
			return fmt.Errorf("%s program %s (%s) is for %s, not for the %s image", what, p, host, machineName(ef.Machine), im.Arch)
		}
		for _, prog := range ef.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			b, err := io.ReadAll(prog.Open())
			if err != nil {
				return fmt.Errorf("%s program %s: read its ELF interpreter: %v", what, p, err)
			}
			interp := string(bytes.TrimRight(b, "\x00"))
			if _, err := im.resolve(interp); err != nil {
				return fmt.Errorf("%s program %s needs the loader %s, which is not in the %s image (%v): build it against the store (Nix), or link it statically",
					what, p, interp, im.Arch, err)
			}
		}
		return nil
	case bytes.HasPrefix(head, []byte("#!")):
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return fmt.Errorf("%s program %s (%s) has an empty #! line", what, p, host)
		}
		if err := im.program(what+" interpreter", fields[0], depth+1); err != nil {
			return fmt.Errorf("%s program %s is a #! script: %w", what, p, err)
		}
		return nil
	}
	return fmt.Errorf("%s program %s (%s) is neither an ELF program nor a #! script: the kernel cannot execute it", what, p, host)
}

// resolve follows p through the image, as the kernel will: the customisation layer's links,
// then links inside store paths of the closure. It returns the file's path on this machine.
func (im *Image) resolve(p string) (string, error) {
	store := im.Graph.StoreDir
	for hops := 0; hops < 40; hops++ {
		p = path.Clean("/" + p)
		if t, ok := im.symlink(p); ok {
			p = t
			continue
		}
		rel, ok := strings.CutPrefix(p, store+"/")
		if !ok {
			return "", errors.New("not in the closure or the customisation layer")
		}
		parts := strings.Split(rel, "/")
		top := store + "/" + parts[0]
		if _, in := im.Graph.Paths[top]; !in {
			return "", fmt.Errorf("%s is not in the closure", top)
		}
		cur, next := top, ""
		for i, part := range parts[1:] {
			cur = cur + "/" + part
			fi, err := os.Lstat(cur)
			if err != nil {
				return "", fmt.Errorf("%s does not exist", cur)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				t, err := os.Readlink(cur)
				if err != nil {
					return "", err
				}
				if !path.IsAbs(t) {
					t = path.Join(path.Dir(cur), t)
				}
				next = path.Join(append([]string{t}, parts[i+2:]...)...)
				break
			}
		}
		if next == "" {
			return cur, nil
		}
		p = next
	}
	return "", errors.New("too many levels of symbolic links")
}

// symlink applies the customisation layer's links to p or one of its parents.
func (im *Image) symlink(p string) (string, bool) {
	for dir := p; dir != "/"; dir = path.Dir(dir) {
		if t, ok := im.Symlinks[dir]; ok {
			return path.Join(t, strings.TrimPrefix(p, dir)), true
		}
	}
	return "", false
}

// offer lists the programs the customisation layer links into /bin, as a hint.
func (im *Image) offer() string {
	var bins []string
	for l := range im.Symlinks {
		if strings.HasPrefix(l, "/bin/") {
			bins = append(bins, l)
		}
	}
	if len(bins) == 0 {
		return "the closure's roots have no bin/ programs: name a program by its store path, or add the root that provides it"
	}
	slices.Sort(bins)
	if len(bins) > 8 {
		bins = append(bins[:8], "…")
	}
	return "the image has " + strings.Join(bins, ", ") + " (name one, or add the root that provides the program)"
}
