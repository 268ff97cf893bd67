package testenv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RegistryAuth is how a Distribution registry asks clients to authenticate.
type RegistryAuth int

const (
	// BasicAuth: htpasswd users, HTTP basic auth over TLS.
	BasicAuth RegistryAuth = iota
	// TokenAuth: Bearer tokens (JWTs) from a token service the registry trusts.
	TokenAuth
)

// AuthRegistry is a running registry that requires credentials.
type AuthRegistry struct {
	// Addr is "127.0.0.1:PORT"; the registry speaks only TLS.
	Addr string
	// CAFile is the PEM certificate of the CA that signed the registry's (and the token
	// service's) certificate: trust it with SSL_CERT_FILE.
	CAFile string
	// User and Password are the one account the registry (or its token service) accepts.
	User, Password string
	// LogFile is the registry's own log.
	LogFile string
}

// DistributionRegistry starts Debian's docker-registry (CNCF Distribution 2.x) on a free
// loopback port with a TLS certificate made here, requiring auth: an htpasswd user, or Bearer
// tokens from a token service run by the test that signs RS256 JWTs with a key whose
// certificate chain the registry trusts (its rootcertbundle). Stopped when the test ends.
func DistributionRegistry(t testing.TB, auth RegistryAuth) *AuthRegistry {
	t.Helper()
	bin := RequireBinary(t, "docker-registry")
	dir := t.TempDir()
	ca, caKey := newCA(t)
	r := &AuthRegistry{CAFile: filepath.Join(dir, "ca.pem"), User: "imagegen", Password: "s3cret-" + fmt.Sprint(time.Now().UnixNano()),
		LogFile: filepath.Join(dir, "registry.log")}
	writePEM(t, r.CAFile, "CERTIFICATE", ca.Raw)
	srvCert, srvKey := newLeaf(t, ca, caKey, "registry")
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", srvCert.Raw)
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "server.key"), "EC PRIVATE KEY", keyDER)

	port := FreePort(t)
	r.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	var authConf string
	switch auth {
	case BasicAuth:
		htpasswd := RequireBinary(t, "htpasswd")
		out, err := exec.Command(htpasswd, "-Bbn", r.User, r.Password).Output()
		if err != nil {
			t.Fatalf("htpasswd: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600); err != nil {
			t.Fatal(err)
		}
		authConf = fmt.Sprintf("  htpasswd:\n    realm: imagegen-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	case TokenAuth:
		realm := tokenService(t, r, ca, caKey)
		authConf = fmt.Sprintf("  token:\n    realm: %s\n    service: imagegen-test-registry\n    issuer: imagegen-test-issuer\n    rootcertbundle: %s\n",
			realm, r.CAFile)
	}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  tls:
    certificate: %s
    key: %s
auth:
%s`, filepath.Join(dir, "data"), r.Addr, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), authConf)
	confFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(r.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", confFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	WaitFor(t, 60*time.Second, "docker-registry to answer over TLS", func() bool {
		select {
		case <-done:
			b, _ := os.ReadFile(r.LogFile)
			t.Fatalf("docker-registry exited:\n%s", b)
		default:
		}
		resp, err := client.Get("https://" + r.Addr + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})
	return r
}

// DockerConfig writes a Docker config.json in a new directory holding credentials for each
// "host" → "user:password", as `docker login` would, and returns the directory (DOCKER_CONFIG).
func DockerConfig(t testing.TB, creds map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	auths := map[string]map[string]string{}
	for host, up := range creds {
		auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(up))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tokenService serves Distribution's token protocol over TLS: GET /token?service=&scope= with
// the registry's user in basic auth returns a JWT granting the requested repository actions;
// anything else is 401. It returns the realm URL.
func tokenService(t testing.TB, r *AuthRegistry, ca *x509.Certificate, caKey *ecdsa.PrivateKey) string {
	t.Helper()
	signKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "imagegen-test token signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	signDER, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &signKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		if !ok || user != r.User || pass != r.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="imagegen-test-token"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		type access struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		}
		var grants []access
		for _, sc := range req.URL.Query()["scope"] {
			for _, one := range strings.Fields(sc) {
				parts := strings.Split(one, ":")
				if len(parts) < 3 {
					continue
				}
				grants = append(grants, access{Type: parts[0], Name: strings.Join(parts[1:len(parts)-1], ":"),
					Actions: strings.Split(parts[len(parts)-1], ",")})
			}
		}
		now := time.Now()
		header, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "RS256", "x5c": []string{base64.StdEncoding.EncodeToString(signDER)}})
		claims, _ := json.Marshal(map[string]any{"iss": "imagegen-test-issuer", "sub": user, "aud": req.URL.Query().Get("service"),
			"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
			"jti": fmt.Sprint(now.UnixNano()), "access": grants})
		signed := b64(header) + "." + b64(claims)
		sum := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, signKey, crypto.SHA256, sum[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		tok := signed + "." + b64(sig)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": now.Format(time.RFC3339)})
	}))
	leaf, leafKey := newLeaf(t, ca, caKey, "token service")
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw}, PrivateKey: leafKey}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// A host name, not the IP literal: go-containerregistry refuses token realms at loopback or
	// private IP literals other than the registry's own host:port (SSRF protection).
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/token"
}

func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imagegen-test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// newLeaf makes a TLS server certificate for 127.0.0.1, ::1 and localhost signed by ca.
func newLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
