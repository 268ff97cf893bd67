package closure

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ParsePathInfo reads `nix path-info --json [--recursive]` output in either shape: the list of
// objects with a "path" field (Nix ≤ 2.18, e.g. Debian's 2.8) or the object keyed by store path
// (Nix ≥ 2.19; a null value marks an invalid path). narHash may be SRI, "sha256:<nix32|hex>" or a
// structured {"algorithm","format","hash"} object; paths and references may be base names
// (newest Nix, with "storeDir" per entry or in a {"version", "info"} wrapper; default
// /nix/store). Hashes are returned in SRI form.
func ParsePathInfo(r io.Reader) ([]*StorePath, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read nix path-info output: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("nix path-info output is empty")
	}
	var raws []rawInfo
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, fmt.Errorf("parse nix path-info JSON list: %w", err)
		}
	case '{':
		// A versioned wrapper {"version": N, "storeDir": D, "info": {path: info}} is unwrapped.
		var wrapper struct {
			Version  json.RawMessage            `json:"version"`
			StoreDir string                     `json:"storeDir"`
			Info     map[string]json.RawMessage `json:"info"`
		}
		storeDir := ""
		if json.Unmarshal(data, &wrapper) == nil && wrapper.Info != nil && len(wrapper.Version) > 0 {
			data, _ = json.Marshal(wrapper.Info)
			storeDir = wrapper.StoreDir
		}
		var obj map[string]*rawInfo
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("parse nix path-info JSON object: %w", err)
		}
		for p, ri := range obj {
			if ri == nil {
				return nil, fmt.Errorf("store path %s is not valid (nix path-info reports null): build or fetch it first", p)
			}
			ri.Path = p
			if ri.StoreDir == "" {
				ri.StoreDir = storeDir
			}
			raws = append(raws, *ri)
		}
	default:
		return nil, fmt.Errorf("nix path-info output is not a JSON list or object (starts with %q)", data[0])
	}
	out := make([]*StorePath, 0, len(raws))
	for i := range raws {
		sp, err := raws[i].storePath()
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b *StorePath) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// ParseExportReferencesGraph reads the closure a structured-attrs derivation receives from
// exportReferencesGraph: either a JSON list of {path, narHash, narSize, references} entries or
// the whole .attrs.json, whose graphs are the keys named in its "exportReferencesGraph"
// attribute (without that attribute, every top-level list of such entries is read).
func ParseExportReferencesGraph(r io.Reader) ([]*StorePath, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read exportReferencesGraph JSON: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("exportReferencesGraph JSON is empty")
	}
	var lists [][]rawInfo
	switch data[0] {
	case '[':
		var l []rawInfo
		if err := json.Unmarshal(data, &l); err != nil {
			return nil, fmt.Errorf("parse exportReferencesGraph JSON list: %w", err)
		}
		lists = append(lists, l)
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("parse .attrs.json: %w", err)
		}
		var keys []string
		if g, ok := obj["exportReferencesGraph"]; ok {
			var named map[string]json.RawMessage
			if err := json.Unmarshal(g, &named); err != nil {
				return nil, fmt.Errorf("parse .attrs.json exportReferencesGraph attribute (want an attribute set of lists): %w", err)
			}
			for k := range named {
				keys = append(keys, k)
			}
		} else {
			for k := range obj {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, ok := obj[k]
			if !ok {
				return nil, fmt.Errorf(".attrs.json has no graph %q named in exportReferencesGraph", k)
			}
			var l []rawInfo
			if err := json.Unmarshal(v, &l); err != nil || len(l) == 0 || l[0].Path == "" {
				if _, named := obj["exportReferencesGraph"]; named {
					return nil, fmt.Errorf(".attrs.json graph %q is not a list of {path, narHash, narSize, references}", k)
				}
				continue
			}
			lists = append(lists, l)
		}
		if len(lists) == 0 {
			return nil, fmt.Errorf(".attrs.json holds no exportReferencesGraph closure (set exportReferencesGraph.<name> = [ paths ] with __structuredAttrs = true)")
		}
	default:
		return nil, fmt.Errorf("exportReferencesGraph input is not JSON (starts with %q)", data[0])
	}
	seen := map[string]*StorePath{}
	var out []*StorePath
	for _, l := range lists {
		for i := range l {
			sp, err := l[i].storePath()
			if err != nil {
				return nil, err
			}
			if old, ok := seen[sp.Path]; ok {
				if old.NarHash != sp.NarHash {
					return nil, fmt.Errorf("store path %s is listed twice with different NAR hashes", sp.Path)
				}
				continue
			}
			seen[sp.Path] = sp
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(a, b *StorePath) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// ParseClosureInfo reads the "registration" file of a closureInfo output directory (dir may
// also name that file): per path, the path, its NAR hash, NAR size, deriver (may be empty), the
// number of references and one line per reference.
func ParseClosureInfo(dir string) ([]*StorePath, error) {
	file := dir
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		file = filepath.Join(dir, "registration")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read closureInfo: %w", err)
	}
	defer f.Close()
	return parseRegistration(f, file)
}

func parseRegistration(r io.Reader, name string) ([]*StorePath, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	next := func(what string) (string, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", fmt.Errorf("read %s: %w", name, err)
			}
			return "", fmt.Errorf("%s:%d: truncated registration, expected %s", name, line+1, what)
		}
		line++
		return sc.Text(), nil
	}
	var out []*StorePath
	for sc.Scan() {
		line++
		p := sc.Text()
		if p == "" {
			continue
		}
		sp := &StorePath{Path: p}
		h, err := next("a NAR hash")
		if err != nil {
			return nil, err
		}
		if sp.NarHash, err = normalizeHash(h); err != nil {
			return nil, fmt.Errorf("%s:%d: store path %s: %w", name, line, p, err)
		}
		s, err := next("a NAR size")
		if err != nil {
			return nil, err
		}
		if sp.NarSize, err = strconv.ParseInt(s, 10, 64); err != nil || sp.NarSize < 0 {
			return nil, fmt.Errorf("%s:%d: store path %s: NAR size %q is not a number", name, line, p, s)
		}
		if sp.Deriver, err = next("a deriver line"); err != nil {
			return nil, err
		}
		c, err := next("a reference count")
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s:%d: store path %s: reference count %q is not a number", name, line, p, c)
		}
		for range n {
			ref, err := next("a reference")
			if err != nil {
				return nil, err
			}
			sp.References = append(sp.References, ref)
		}
		out = append(out, sp)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no store paths", name)
	}
	slices.SortFunc(out, func(a, b *StorePath) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// rawInfo is one entry of nix path-info or exportReferencesGraph JSON.
type rawInfo struct {
	Path       string          `json:"path"`
	NarHash    json.RawMessage `json:"narHash"`
	NarSize    *int64          `json:"narSize"`
	References []string        `json:"references"`
	Deriver    *string         `json:"deriver"`
	StoreDir   string          `json:"storeDir"`
	Valid      *bool           `json:"valid"`
}

func (ri *rawInfo) storePath() (*StorePath, error) {
	if ri.Path == "" {
		return nil, fmt.Errorf("closure entry has no path")
	}
	storeDir := ri.StoreDir
	if storeDir == "" {
		storeDir = DefaultStoreDir
	}
	full := func(p string) string {
		if strings.HasPrefix(p, "/") {
			return p
		}
		return path.Join(storeDir, p)
	}
	sp := &StorePath{Path: full(ri.Path)}
	if ri.Valid != nil && !*ri.Valid {
		return nil, fmt.Errorf("store path %s is not valid: build or fetch it first", sp.Path)
	}
	if len(ri.NarHash) == 0 || string(ri.NarHash) == "null" {
		return nil, fmt.Errorf("store path %s has no narHash", sp.Path)
	}
	h, err := parseHashJSON(ri.NarHash)
	if err != nil {
		return nil, fmt.Errorf("store path %s: %w", sp.Path, err)
	}
	sp.NarHash = h
	if ri.NarSize == nil {
		return nil, fmt.Errorf("store path %s has no narSize", sp.Path)
	}
	if *ri.NarSize < 0 {
		return nil, fmt.Errorf("store path %s has a negative narSize %d", sp.Path, *ri.NarSize)
	}
	sp.NarSize = *ri.NarSize
	for _, r := range ri.References {
		sp.References = append(sp.References, full(r))
	}
	if ri.Deriver != nil {
		sp.Deriver = full(*ri.Deriver)
	}
	return sp, nil
}

// parseHashJSON accepts a hash string or a structured {"algorithm","format","hash"} object.
func parseHashJSON(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return normalizeHash(s)
	}
	var st struct {
		Algorithm string `json:"algorithm"`
		Format    string `json:"format"`
		Hash      string `json:"hash"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", fmt.Errorf("narHash is neither a string nor a {algorithm, hash} object")
	}
	if st.Algorithm == "" {
		st.Algorithm = "sha256"
	}
	if strings.Contains(st.Hash, "-") || strings.Contains(st.Hash, ":") {
		return normalizeHash(st.Hash)
	}
	return normalizeHash(st.Algorithm + ":" + st.Hash)
}

// normalizeHash turns a sha256 NAR hash in SRI ("sha256-<base64>"), "sha256:<nix32>",
// "sha256:<hex>" or "sha256:<base64>" form into SRI form.
func normalizeHash(h string) (string, error) {
	var raw []byte
	var err error
	switch {
	case strings.HasPrefix(h, "sha256-"):
		raw, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "sha256-"))
	case strings.HasPrefix(h, "sha256:"):
		v := strings.TrimPrefix(h, "sha256:")
		switch len(v) {
		case 52:
			raw, err = decodeNix32(v, 32)
		case 64:
			raw, err = hex.DecodeString(v)
		default:
			raw, err = base64.StdEncoding.DecodeString(v)
		}
	default:
		return "", fmt.Errorf("narHash %q is not a sha256 hash (want sha256-<base64> or sha256:<nix32>)", h)
	}
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("narHash %q is not a valid sha256 hash", h)
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(raw), nil
}

// nix32Alphabet is Nix's base-32 alphabet (no e, o, t, u).
const nix32Alphabet = "0123456789abcdfghijklmnpqrsvwxyz"

func isNix32(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(nix32Alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// decodeNix32 decodes Nix's base-32 (least significant 5 bits last in the string).
func decodeNix32(s string, size int) ([]byte, error) {
	if len(s) != (size*8+4)/5 {
		return nil, errors.New("wrong length")
	}
	out := make([]byte, size)
	for k := 0; k < len(s); k++ {
		d := strings.IndexByte(nix32Alphabet, s[k])
		if d < 0 {
			return nil, fmt.Errorf("invalid nix32 character %q", s[k])
		}
		n := len(s) - 1 - k
		b := n * 5
		i, j := b/8, uint(b%8)
		out[i] |= byte(d << j)
		carry := byte(d >> (8 - j))
		if i+1 < size {
			out[i+1] |= carry
		} else if carry != 0 {
			return nil, errors.New("nix32 value overflows")
		}
	}
	return out, nil
}
