package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// StartTLS runs a redis-server like Start, but serving only TLS, with a
// certificate for 127.0.0.1 from a CA made for the test. CAFile is the PEM
// file of that CA; the server does not ask clients for certificates.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, rand.Text())
	ca, caKey := newCA(t)
	s.CAFile = writePEM(t, s.dir, "ca.pem", "CERTIFICATE", ca.Raw)
	certDER, keyDER := newServerCert(t, ca, caKey)
	certFile := writePEM(t, s.dir, "server.pem", "CERTIFICATE", certDER)
	keyFile := writePEM(t, s.dir, "server-key.pem", "PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	s.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	s.args = func(port string) []string {
		args := s.serverArgs(port)
		for i, a := range args {
			if a == "--port" {
				args[i+1] = "0" // no plain-text port
			}
		}
		return append(args,
			"--tls-port", port,
			"--tls-cert-file", certFile,
			"--tls-key-file", keyFile,
			"--tls-ca-cert-file", s.CAFile,
			"--tls-auth-clients", "no",
		)
	}
	s.launch("redis-server with TLS")
	return s
}

// newCA returns a self-signed CA certificate and its key.
func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redistest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// newServerCert returns a certificate for 127.0.0.1 signed by ca, and its
// PKCS #8 key, both DER.
func newServerCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if cert, err = x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey); err != nil {
		t.Fatal(err)
	}
	if key, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// writePEM writes one PEM block to dir/name and returns the path.
func writePEM(t testing.TB, dir, name, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
