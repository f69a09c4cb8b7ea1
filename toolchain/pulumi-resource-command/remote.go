package main

// command:remote:Command: the same lifecycle as command:local:Command (Check
// defaults, Diff, Create/Update/Delete in main.go), but each command runs on
// a host reached over ssh. Inputs and outputs follow upstream
// pulumi-command 1.2.1 (provider/pkg/provider/remote/*.go), plus one field of
// our own: connection.hostKey, which is required (see parseConnection).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// remoteInputKeys lists every input of command:remote:Command (see
// @pulumi/command/remote/command.d.ts).
var remoteInputKeys = []resource.PropertyKey{
	"addPreviousOutputInEnv", "connection", "create", "delete", "environment",
	"logging", "stdin", "triggers", "update",
}

// Connection defaults, as upstream's schema has them.
const (
	defaultPort           = 22
	defaultUser           = "root"
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15 // seconds
)

// connectionInputs is the decoded connection. Its String never shows the
// credentials.
type connectionInputs struct {
	Host           string
	Port           int
	User           string
	PrivateKey     string // PEM/OpenSSH private key; "" = none
	PrivateKeyPass string // passphrase of PrivateKey; "" = none
	Password       string // "" = none
	DialErrorLimit int    // attempts; -1 = no limit
	PerDialTimeout time.Duration
	HostKey        ssh.PublicKey // the pinned host key
}

func (c connectionInputs) String() string { return c.address() }

func (c connectionInputs) address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// errHostKeyRequired is stagewise's own rule: upstream 1.x has no host-key
// pinning and trusts whatever key the server presents.
var errHostKeyRequired = errors.New("connection.hostKey is required: stagewise pins host keys " +
	`(give the server's public host key as an authorized_keys style line, e.g. "ssh-ed25519 AAAA...")`)

// applyConnectionDefaults fills in the connection's schema defaults (as
// `infer` writes them into the checked inputs) and marks the whole connection
// secret, as upstream's schema does. An unknown connection (preview) stays
// unknown.
func applyConnectionDefaults(news resource.PropertyMap) resource.PropertyMap {
	v := plain(news["connection"])
	if !v.IsObject() {
		return news
	}
	conn := v.ObjectValue().Copy()
	for k, d := range map[resource.PropertyKey]resource.PropertyValue{
		"port":           resource.NewNumberProperty(defaultPort),
		"user":           resource.NewStringProperty(defaultUser),
		"dialErrorLimit": resource.NewNumberProperty(defaultDialErrorLimit),
		"perDialTimeout": resource.NewNumberProperty(defaultPerDialTimeout),
	} {
		if e, ok := conn[k]; !ok || e.IsNull() {
			conn[k] = d
		}
	}
	out := news.Copy()
	out["connection"] = resource.MakeSecret(resource.NewObjectProperty(conn))
	return out
}

// checkConnection reports what is certainly wrong with a connection already at
// Check time; unknown values (preview) are not judged.
func checkConnection(v resource.PropertyValue) []string {
	v = plain(v)
	if v.ContainsUnknowns() && !v.IsObject() {
		return nil
	}
	if !v.IsObject() {
		return []string{"connection is required"}
	}
	conn := v.ObjectValue()
	var failures []string
	missing := func(k resource.PropertyKey) bool {
		e, ok := conn[k]
		return !ok || e.IsNull()
	}
	if missing("host") {
		failures = append(failures, "connection.host is required")
	}
	if missing("hostKey") {
		failures = append(failures, errHostKeyRequired.Error())
	} else if e := plain(conn["hostKey"]); e.IsString() {
		if _, err := parseHostKey(e.StringValue()); err != nil {
			failures = append(failures, err.Error())
		}
	}
	for _, k := range []resource.PropertyKey{"proxy", "agentSocketPath"} {
		if !missing(k) {
			failures = append(failures, fmt.Sprintf("connection.%s is not supported by this pulumi-resource-command build", k))
		}
	}
	return failures
}

func parseHostKey(line string) (ssh.PublicKey, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("connection.hostKey is not an authorized_keys style public key line (%v)", err)
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return nil, errors.New("connection.hostKey must be a plain public key, not a certificate")
	}
	return key, nil
}

// parseConnection decodes the (known) connection for running a command.
func parseConnection(v resource.PropertyValue) (*connectionInputs, error) {
	if failures := checkConnection(v); len(failures) > 0 {
		return nil, errors.New(strings.Join(failures, "; "))
	}
	v = plain(v)
	if !v.IsObject() {
		return nil, errors.New("connection is not known")
	}
	conn := v.ObjectValue()
	str := func(k resource.PropertyKey) string {
		if e := plain(conn[k]); e.IsString() {
			return e.StringValue()
		}
		return ""
	}
	num := func(k resource.PropertyKey, def int) int {
		if e := plain(conn[k]); e.IsNumber() {
			return int(e.NumberValue())
		}
		return def
	}
	c := &connectionInputs{
		Host:           str("host"),
		Port:           num("port", defaultPort),
		User:           str("user"),
		PrivateKey:     str("privateKey"),
		PrivateKeyPass: str("privateKeyPassword"),
		Password:       str("password"),
		DialErrorLimit: num("dialErrorLimit", defaultDialErrorLimit),
		PerDialTimeout: time.Duration(num("perDialTimeout", defaultPerDialTimeout)) * time.Second,
	}
	if c.Host == "" {
		return nil, errors.New("connection.host is required")
	}
	if c.User == "" {
		c.User = defaultUser
	}
	if c.PerDialTimeout <= 0 {
		c.PerDialTimeout = defaultPerDialTimeout * time.Second
	}
	key, err := parseHostKey(str("hostKey"))
	if err != nil {
		return nil, err
	}
	c.HostKey = key
	return c, nil
}

// clientConfig builds the ssh client configuration: the pinned host key and
// whatever credentials were given. Errors never include a credential.
func (c connectionInputs) clientConfig() (*ssh.ClientConfig, error) {
	var auth []ssh.AuthMethod
	if c.PrivateKey != "" {
		var signer ssh.Signer
		var err error
		if c.PrivateKeyPass != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.PrivateKey), []byte(c.PrivateKeyPass))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.PrivateKey))
		}
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, errors.New("connection.privateKey is passphrase protected: give connection.privateKeyPassword")
			}
			// The parser's errors name formats, never key material; still,
			// say only what kind of failure it was.
			return nil, fmt.Errorf("connection.privateKey cannot be parsed as a private key (%s)", redactedReason(err))
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if c.Password != "" {
		password := c.Password
		auth = append(auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	if len(auth) == 0 {
		return nil, errors.New("connection needs privateKey or password")
	}
	want := c.HostKey
	addr := c.address()
	algorithms := []string{want.Type()}
	if want.Type() == ssh.KeyAlgoRSA {
		algorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return &ssh.ClientConfig{
		User: c.User,
		Auth: auth,
		// Ask only for the pinned key's type, so a server with several host
		// keys presents the one we can check.
		HostKeyAlgorithms: algorithms,
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if bytes.Equal(got.Marshal(), want.Marshal()) {
				return nil
			}
			return &hostKeyMismatchError{addr: addr, got: got, want: want}
		},
		Timeout: c.PerDialTimeout,
	}, nil
}

var keyLike = regexp.MustCompile(`[A-Za-z0-9+/=]{24,}`)

// redactedReason keeps an error message only when it is short and free of
// anything that looks like encoded key material.
func redactedReason(err error) string {
	msg := err.Error()
	if len(msg) > 120 || keyLike.MatchString(msg) {
		return "invalid key data"
	}
	return msg
}

type hostKeyMismatchError struct {
	addr      string
	got, want ssh.PublicKey
}

func (e *hostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key mismatch for %s: the server presented %s %s, but connection.hostKey pins %s %s",
		e.addr, e.got.Type(), ssh.FingerprintSHA256(e.got), e.want.Type(), ssh.FingerprintSHA256(e.want))
}

// dialRetryPause is the pause between failed dials (a variable for tests).
var dialRetryPause = time.Second

// dial connects and authenticates, retrying failed dials up to
// DialErrorLimit times (as upstream). A host key mismatch or a refused login
// is final: retrying cannot change it.
func (c connectionInputs) dial(ctx context.Context) (*ssh.Client, error) {
	config, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	addr := c.address()
	for attempt := 1; ; attempt++ {
		client, err := dialOnce(ctx, addr, config, c.PerDialTimeout)
		if err == nil {
			return client, nil
		}
		var mismatch *hostKeyMismatchError
		final := errors.As(err, &mismatch) || strings.Contains(err.Error(), "unable to authenticate")
		if final || ctx.Err() != nil || (c.DialErrorLimit >= 0 && attempt >= max(c.DialErrorLimit, 1)) {
			if mismatch != nil {
				return nil, mismatch
			}
			return nil, fmt.Errorf("connecting to %s as %s (attempt %d): %w", addr, c.User, attempt, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connecting to %s: %w", addr, ctx.Err())
		case <-time.After(dialRetryPause):
		}
	}
}

func dialOnce(ctx context.Context, addr string, config *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The handshake is bounded by the same per-dial timeout (and by ctx).
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	sshConn, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	stop()
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sshConn, chans, reqs), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// remoteScript prefixes command with `export K='v'` lines for env (K=V
// pairs). That works with any sshd, unlike the ssh "env" request, which
// sshd ignores unless its AcceptEnv allows the name.
func remoteScript(env []string, command string) (string, error) {
	var b strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !envName.MatchString(k) {
			return "", fmt.Errorf("environment variable name %q is not a valid shell name", k)
		}
		b.WriteString("export " + k + "=" + shellQuote(v) + "\n")
	}
	b.WriteString(command)
	return b.String(), nil
}

// runRemote runs o.Command on the host of conn, in the login user's shell
// (o.Interpreter and o.Dir do not apply), with o.Env exported in front of it
// and o.Stdin as its input. It returns stdout and stderr without one trailing
// newline each; a failure returns an error naming the host, the exit status
// and the tail of the combined output, as runCommand does.
func runRemote(ctx context.Context, conn connectionInputs, o runOptions) (string, string, error) {
	script, err := remoteScript(o.Env, o.Command)
	if err != nil {
		return "", "", err
	}
	client, err := conn.dial(ctx)
	if err != nil {
		return "", "", err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return "", "", fmt.Errorf("opening an ssh session on %s: %w", conn.address(), err)
	}
	defer session.Close()

	var stdout, stderr bytes.Buffer
	combined := &lockedBuffer{}
	outLog, errLog := newLineWriter(o.LogStdout), newLineWriter(o.LogStderr)
	session.Stdout = io.MultiWriter(&stdout, combined, outLog)
	session.Stderr = io.MultiWriter(&stderr, combined, errLog)
	if o.Stdin != "" {
		session.Stdin = strings.NewReader(o.Stdin)
	}

	// Cancel: ask the server to kill the command, then drop the connection.
	stop := context.AfterFunc(ctx, func() {
		_ = session.Signal(ssh.SIGKILL)
		_ = client.Close()
	})
	err = session.Run(script)
	stop()
	outLog.flush()
	errLog.flush()
	if err != nil {
		reason := err.Error()
		var exitErr *ssh.ExitError
		var missing *ssh.ExitMissingError
		switch {
		case errors.As(err, &exitErr) && exitErr.Signal() != "":
			reason = "killed by signal " + exitErr.Signal()
		case errors.As(err, &exitErr):
			reason = fmt.Sprintf("exit status %d", exitErr.ExitStatus())
		case ctx.Err() != nil:
			reason = "cancelled"
		case errors.As(err, &missing):
			reason = "the connection ended without an exit status"
		}
		// Keeps err so callers can still errors.As the *ssh.ExitError.
		return "", "", &remoteCommandError{err: err, msg: fmt.Sprintf("%s on %s: running %q:\n%s",
			reason, conn.address(), o.Command, tail(combined.String(), errorOutputLimit))}
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}

// remoteCommandError is a failed remote command: msg says it all, err is the
// ssh library's error (e.g. an *ssh.ExitError).
type remoteCommandError struct {
	msg string
	err error
}

func (e *remoteCommandError) Error() string { return e.msg }
func (e *remoteCommandError) Unwrap() error { return e.err }
