package closure

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

const (
	appPath  = "/nix/store/qg96xl91ra9zyyfzm3dcg1551hyr5lyp-imagegen-test-app"
	libPath  = "/nix/store/nx2w95b4pr6cxh99kdp4lh0p31li853f-imagegen-test-lib"
	basePath = "/nix/store/44pykr9qxmrxhqlvbbnhcdlarlgn53fm-imagegen-test-base"
	dataPath = "/nix/store/yv9v6xzavskqnqjrb23mrbgizbc9p1vq-imagegen-test-data"
	// narHash of the lib path: SRI in path-info, sha256:<nix32> in .attrs.json and registration.
	libSRI = "sha256-+g5V+w+BPtGmkpmDes6ayB1iSGRg9lrJXGBbme/0BwU="
)

// wantSmall is the closure of closure.nix's app as every parser must report it.
func checkSmall(t *testing.T, paths []*StorePath) {
	t.Helper()
	var names []string
	byPath := map[string]*StorePath{}
	for _, p := range paths {
		names = append(names, p.Path)
		byPath[p.Path] = p
	}
	assert.Equal(t, []string{basePath, libPath, appPath, dataPath}, names)
	assert.Equal(t, libSRI, byPath[libPath].NarHash)
	assert.EqualValues(t, 520, byPath[libPath].NarSize)
	assert.Equal(t, []string{basePath}, byPath[libPath].References)
	assert.ElementsMatch(t, []string{basePath, libPath, dataPath}, byPath[appPath].References)
	g, err := New([]string{appPath}, paths)
	require.NoError(t, err)
	assert.Equal(t, "/nix/store", g.StoreDir)
	assert.Equal(t, []string{appPath}, Tops(paths))
	assert.EqualValues(t, 456+520+688+120, g.NarSize())
}

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParsers(t *testing.T) {
	tests := []struct {
		name  string
		parse func() ([]*StorePath, error)
	}{
		{"path-info list (Nix 2.8)", func() ([]*StorePath, error) { return ParsePathInfo(open(t, "pathinfo-nix2.8-list.json")) }},
		{"path-info object (Nix >= 2.19)", func() ([]*StorePath, error) { return ParsePathInfo(open(t, "pathinfo-nix2.19-object.json")) }},
		{"exportReferencesGraph .attrs.json", func() ([]*StorePath, error) { return ParseExportReferencesGraph(open(t, "attrs.json")) }},
		{"closureInfo registration dir", func() ([]*StorePath, error) { return ParseClosureInfo("testdata") }},
		{"closureInfo registration file", func() ([]*StorePath, error) {
			return ParseClosureInfo(filepath.Join("testdata", "registration"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths, err := tt.parse()
			require.NoError(t, err)
			checkSmall(t, paths)
		})
	}
}

func TestExportReferencesGraphList(t *testing.T) {
	data, err := os.ReadFile("testdata/attrs.json")
	require.NoError(t, err)
	// Only the closure list, as a builder might write it with jq .closure.
	i := bytes.IndexByte(data, '[')
	j := bytes.LastIndex(data, []byte("],"))
	list := data[i : j+1]
	paths, err := ParseExportReferencesGraph(bytes.NewReader(list))
	require.NoError(t, err)
	checkSmall(t, paths)
}

func TestNarHashForms(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "sha256-+g5V+w+BPtGmkpmDes6ayB1iSGRg9lrJXGBbme/0BwU=", want: libSRI},
		{in: "sha256:0187ykprjnv0bk4mmxk0ci4647f8kb77m0wrjakd2gl11zxma3ps", want: libSRI},
		{in: "sha256:fa0e55fb0f813ed1a69299837ace9ac81d62486460f65ac95c605b99eff40705", want: libSRI},
		{in: "md5:abc", err: "not a sha256 hash"},
		{in: "sha256-AAAA", err: "not a valid sha256"},
		{in: "sha256:0187ykprjnv0bk4mmxk0ci4647f8kb77m0wrjakd2gl11zxma3pe", err: "not a valid sha256"},
		{in: "sha256:z187ykprjnv0bk4mmxk0ci4647f8kb77m0wrjakd2gl11zxma3ps", err: "not a valid sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeHash(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPathInfoNewestShapes(t *testing.T) {
	// Newest Nix: structured narHash, storeDir, base-name references; a null marks an invalid path.
	in := `{"44pykr9qxmrxhqlvbbnhcdlarlgn53fm-imagegen-test-base": {"storeDir": "/nix/store",
	  "narHash": {"algorithm": "sha256", "format": "base64", "hash": "bNZdLTvl8tvDlnyH5ojV81aOQKFNVC/Um0GCgNqs8vg="},
	  "narSize": 456, "references": [], "deriver": null}}`
	wrapped := `{"version": 2, "storeDir": "/nix/store", "info": {"44pykr9qxmrxhqlvbbnhcdlarlgn53fm-imagegen-test-base": {
	  "version": 2, "narHash": {"algorithm": "sha256", "format": "base16", "hash": "6cd65d2d3be5f2dbc3967c87e688d5f3568e40a14d542fd49b418280daacf2f8"},
	  "narSize": 456, "references": ["44pykr9qxmrxhqlvbbnhcdlarlgn53fm-imagegen-test-base"]}}}`
	for _, in := range []string{in, wrapped} {
		paths, err := ParsePathInfo(strings.NewReader(in))
		require.NoError(t, err)
		require.Len(t, paths, 1)
		assert.Equal(t, basePath, paths[0].Path)
		assert.Equal(t, "sha256-bNZdLTvl8tvDlnyH5ojV81aOQKFNVC/Um0GCgNqs8vg=", paths[0].NarHash)
	}
}

func TestBadInput(t *testing.T) {
	small := `{"path":"` + basePath + `","narHash":"sha256-bNZdLTvl8tvDlnyH5ojV81aOQKFNVC/Um0GCgNqs8vg=","narSize":456,"references":[]}`
	tests := []struct{ name, in, err string }{
		{"empty", "", "empty"},
		{"not JSON", "hello", "not a JSON"},
		{"truncated list", "[" + small, "parse nix path-info JSON list"},
		{"invalid path (object null)", `{"` + basePath + `": null}`, "is not valid"},
		{"invalid path (valid false)", `[{"path":"` + basePath + `","valid":false}]`, "is not valid"},
		{"no narHash", `[{"path":"` + basePath + `","narSize":1}]`, "has no narHash"},
		{"no narSize", `[{"path":"` + basePath + `","narHash":"sha256-bNZdLTvl8tvDlnyH5ojV81aOQKFNVC/Um0GCgNqs8vg="}]`, "has no narSize"},
		{"negative narSize", strings.Replace("["+small+"]", "456", "-1", 1), "negative narSize"},
		{"no path", `[{"narSize":1}]`, "has no path"},
		{"bad hash", strings.Replace("["+small+"]", "sha256-", "sha1-", 1), "not a sha256 hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePathInfo(strings.NewReader(tt.in))
			require.ErrorContains(t, err, tt.err)
			assert.NotContains(t, err.Error(), "\n", "errors are one line")
		})
	}
}

func TestBadExportReferencesGraph(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"empty", " ", "empty"},
		{"no closure", `{"name": "x"}`, "holds no exportReferencesGraph closure"},
		{"named graph missing", `{"exportReferencesGraph": {"closure": ["/nix/store/x"]}}`, `no graph "closure"`},
		{"named graph wrong", `{"exportReferencesGraph": {"closure": []}, "closure": 3}`, `graph "closure" is not a list`},
		{"not JSON", "x", "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExportReferencesGraph(strings.NewReader(tt.in))
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestBadClosureInfo(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"empty", "", "holds no store paths"},
		{"truncated", basePath + "\nsha256:1y7jmkd810j1kga2ym2dl508wmpksn4fd1vwjv1xpwp57cnmvmkc\n", "truncated registration"},
		{"bad size", basePath + "\nsha256:1y7jmkd810j1kga2ym2dl508wmpksn4fd1vwjv1xpwp57cnmvmkc\nbig\n\n0\n", "is not a number"},
		{"bad count", basePath + "\nsha256:1y7jmkd810j1kga2ym2dl508wmpksn4fd1vwjv1xpwp57cnmvmkc\n1\n\nx\n", "reference count"},
		{"missing refs", basePath + "\nsha256:1y7jmkd810j1kga2ym2dl508wmpksn4fd1vwjv1xpwp57cnmvmkc\n1\n\n2\n" + basePath + "\n", "expected a reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "registration"), []byte(tt.in), 0o644))
			_, err := ParseClosureInfo(dir)
			require.ErrorContains(t, err, tt.err)
		})
	}
	_, err := ParseClosureInfo(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "read closureInfo")
}

func TestNewValidates(t *testing.T) {
	sp := func(p string, refs ...string) *StorePath {
		return &StorePath{Path: p, NarHash: libSRI, NarSize: 1, References: refs}
	}
	tests := []struct {
		name  string
		roots []string
		paths []*StorePath
		err   string
	}{
		{"ok", []string{libPath}, []*StorePath{sp(libPath, basePath, libPath), sp(basePath)}, ""},
		{"no roots", nil, []*StorePath{sp(basePath)}, "no roots"},
		{"root missing", []string{appPath}, []*StorePath{sp(basePath)}, "root " + appPath + " is missing"},
		{"not closed", []string{libPath}, []*StorePath{sp(libPath, basePath)}, "references " + basePath + ", which is missing"},
		{"outside the store", []string{libPath}, []*StorePath{sp(libPath), sp("/usr/lib/libc.so")}, "/usr/lib/libc.so is not a path directly under the store"},
		{"inside a store path", []string{libPath}, []*StorePath{sp(libPath, libPath+"/lib")}, "is not a path directly under the store"},
		{"not a store name", []string{libPath}, []*StorePath{sp(libPath), sp("/nix/store/short-x")}, "is not a store path"},
		{"unclean", []string{libPath}, []*StorePath{sp(libPath), sp("/nix/store/../etc")}, "not a clean absolute"},
		{"relative", []string{"nix/store/x"}, []*StorePath{sp(libPath)}, "not a clean absolute"},
		{"conflicting duplicate", []string{basePath}, []*StorePath{sp(basePath), {Path: basePath, NarHash: libSRI, NarSize: 2}}, "listed twice"},
		{"cycle", []string{libPath}, []*StorePath{sp(libPath, basePath), sp(basePath, libPath)},
			"closure has a reference cycle " + basePath + " → " + libPath + " → " + basePath},
		{"longer cycle", []string{appPath}, []*StorePath{sp(appPath, libPath), sp(libPath, basePath, libPath), sp(basePath, appPath)},
			"closure has a reference cycle " + basePath + " → " + appPath + " → " + libPath + " → " + basePath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.roots, tt.paths)
			if tt.err == "" {
				require.NoError(t, err)
				assert.Equal(t, []string{basePath, libPath}, g.SortedPaths())
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestSubgraph(t *testing.T) {
	paths, err := ParsePathInfo(open(t, "pathinfo-nix2.8-list.json"))
	require.NoError(t, err)
	g, err := New([]string{appPath}, paths)
	require.NoError(t, err)
	sub, err := g.Subgraph([]string{libPath})
	require.NoError(t, err)
	assert.Equal(t, []string{basePath, libPath}, sub.SortedPaths())
	assert.Equal(t, []string{libPath}, sub.Roots)
	assert.Len(t, g.NarHashes(), 4)
}

// TestFromNix builds closure.nix's app with Debian's Nix and reads its closure three ways:
// from the store path, from an installable, and from the files a Nix build receives.
func TestFromNix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds with nix")
	}
	nixBuild := testenv.RequireBinary(t, "nix-build")
	nix := testenv.RequireBinary(t, "nix")
	ctx := context.Background()
	build := func(attr string) string {
		out, err := exec.CommandContext(ctx, nixBuild, "testdata/closure.nix", "-A", attr, "--no-out-link",
			"--option", "substituters", "").Output()
		require.NoError(t, err, "nix-build %s", attr)
		return strings.TrimSpace(string(out))
	}
	app := build("app")
	require.Equal(t, appPath, app, "closure.nix's store paths are fixed: the captured testdata must match")

	g, err := FromNix(ctx, nix, []string{app})
	require.NoError(t, err)
	assert.Equal(t, []string{appPath}, g.Roots)
	assert.Equal(t, []string{basePath, libPath, appPath, dataPath}, g.SortedPaths())

	// A symlink to the store path (like ./result) and a path inside it name the same root.
	link := filepath.Join(t.TempDir(), "result")
	require.NoError(t, os.Symlink(app, link))
	g2, err := FromNix(ctx, nix, []string{link, app + "/bin/app"})
	require.NoError(t, err)
	assert.Equal(t, g.Roots, g2.Roots)

	// An installable (here a flake output) is built with nix build --json (Nix 2.8 has no
	// --print-out-paths).
	flake := t.TempDir()
	nixFile, err := os.ReadFile("testdata/closure.nix")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(flake, "closure.nix"), nixFile, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(flake, "flake.nix"), []byte(`{ outputs = _: {
	  packages.x86_64-linux.lib = (import ./closure.nix { system = "x86_64-linux"; }).lib; }; }`), 0o644))
	g3, err := FromNix(ctx, nix, []string{"path:" + flake + "#lib"})
	require.NoError(t, err)
	assert.Equal(t, []string{libPath}, g3.Roots)
	assert.Equal(t, []string{basePath, libPath}, g3.SortedPaths())

	_, err = FromNix(ctx, nix, []string{"path:" + flake + "#missing"})
	require.ErrorContains(t, err, "nix build")

	// What a Nix build sees: .attrs.json and a closureInfo registration.
	attrs, err := os.Open(build("attrs"))
	require.NoError(t, err)
	defer attrs.Close()
	fromAttrs, err := ParseExportReferencesGraph(attrs)
	require.NoError(t, err)
	checkSmall(t, fromAttrs)
	fromInfo, err := ParseClosureInfo(build("info"))
	require.NoError(t, err)
	checkSmall(t, fromInfo)
	assert.Equal(t, g.NarHashes()[libPath], libSRI)
	for _, p := range fromInfo {
		assert.Equal(t, g.Paths[p.Path].NarHash, p.NarHash, "registration and path-info agree on %s", p.Path)
	}

	_, err = FromNix(ctx, nix, []string{"/nix/store/00000000000000000000000000000000-missing"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n")
}

// TestNixError: Nix's own message reaches the user, not the "(use '--show-trace' …)" hint or
// the last log line alone (stderr of Nix 2.8, captured).
func TestNixError(t *testing.T) {
	for _, tc := range []struct{ stderr, want string }{
		{"error: flake 'path:/tmp/f' does not provide attribute 'packages.x86_64-linux.nope', 'legacyPackages.x86_64-linux.nope' or 'nope'\n",
			"error: flake 'path:/tmp/f' does not provide attribute 'packages.x86_64-linux.nope', 'legacyPackages.x86_64-linux.nope' or 'nope'"},
		{"warning: Git tree '/src' is dirty\nerror: undefined variable 'undefinedThing'\n\n       at /nix/store/l3az-source/flake.nix:1:144:\n\n            1| { outputs = …\n             |   ^\n(use '--show-trace' to show detailed location information)\n",
			"error: undefined variable 'undefinedThing' at /nix/store/l3az-source/flake.nix:1:144:"},
		{"building '/nix/store/m36a-bad.drv'...\nerror: builder for '/nix/store/m36a-bad.drv' failed with exit code 3;\n       last 1 log lines:\n       > this build fails on purpose\n       For full logs, run 'nix log /nix/store/m36a-bad.drv'.\n",
			"error: builder for '/nix/store/m36a-bad.drv' failed with exit code 3; last 1 log lines: > this build fails on purpose For full logs, run 'nix log /nix/store/m36a-bad.drv'."},
		{"\x1b[31;1merror:\x1b[0m path '/nix/store/x' is not valid\n", "error: path '/nix/store/x' is not valid"},
	} {
		assert.Equal(t, tc.want, nixError(tc.stderr))
	}
}
