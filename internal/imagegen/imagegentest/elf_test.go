package imagegentest

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestHelloELF: the program is an x86-64 executable that prints its message and exits 0.
func TestHelloELF(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(bin, HelloELF("hello, ELF\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Fatalf("machine %v type %v", f.Machine, f.Type)
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("runs only on amd64")
	}
	out, err := exec.Command(bin).Output()
	if err != nil || string(out) != "hello, ELF\n" {
		t.Fatalf("ran: %q %v", out, err)
	}
}
