package imagegentest

import (
	"bytes"
	"encoding/binary"
)

// HelloELF is a minimal static x86-64 Linux program that writes msg to stdout and exits 0: an
// ELF header, one PT_LOAD program header and 33 bytes of code, built here byte by byte so the
// fixed test image holds a real program whose bytes depend on nothing but this source.
func HelloELF(msg string) []byte {
	const (
		base     = 0x400000
		ehsize   = 64
		phsize   = 56
		codeOff  = ehsize + phsize
		codeSize = 33
	)
	code := []byte{
		0xb8, 1, 0, 0, 0, // mov eax, 1 (write)
		0xbf, 1, 0, 0, 0, // mov edi, 1 (stdout)
		0x48, 0x8d, 0x35, 16, 0, 0, 0, // lea rsi, [rip+16] (msg, right after the code)
		0xba, 0, 0, 0, 0, // mov edx, len(msg)
		0x0f, 0x05, // syscall
		0xb8, 60, 0, 0, 0, // mov eax, 60 (exit)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
	}
	binary.LittleEndian.PutUint32(code[18:], uint32(len(msg)))
	size := uint64(codeOff + codeSize + len(msg))
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* System V */})
	b.Write(make([]byte, 8))
	le(uint16(2))              // e_type: ET_EXEC
	le(uint16(62))             // e_machine: EM_X86_64
	le(uint32(1))              // e_version
	le(uint64(base + codeOff)) // e_entry
	le(uint64(ehsize))         // e_phoff
	le(uint64(0))              // e_shoff: no sections
	le(uint32(0))              // e_flags
	le(uint16(ehsize))         // e_ehsize
	le(uint16(phsize))         // e_phentsize
	le(uint16(1))              // e_phnum
	le(uint16(64))             // e_shentsize
	le(uint16(0))              // e_shnum
	le(uint16(0))              // e_shstrndx
	le(uint32(1))              // p_type: PT_LOAD
	le(uint32(5))              // p_flags: R+X
	le(uint64(0))              // p_offset
	le(uint64(base))           // p_vaddr
	le(uint64(base))           // p_paddr
	le(size)                   // p_filesz
	le(size)                   // p_memsz
	le(uint64(0x1000))         // p_align
	b.Write(code)
	b.WriteString(msg)
	return b.Bytes()
}
