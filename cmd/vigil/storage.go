package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/audit"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/store/postgres"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

// dataFlag adds --data (env VIGIL_DATA) to an offline command.
func dataFlag(cmd *cobra.Command, getenv func(string) string) *string {
	def := getenv("VIGIL_DATA")
	if def == "" {
		def = "./vigil-data"
	}
	return cmd.Flags().String("data", def, "data directory (env VIGIL_DATA)")
}

// masterKeyPath is VIGIL_MASTER_KEY_FILE, or <data>/master.key.
func masterKeyPath(data string, getenv func(string) string) (path string, local bool) {
	if p := getenv("VIGIL_MASTER_KEY_FILE"); p != "" {
		return p, false
	}
	return filepath.Join(data, "master.key"), true
}

// databaseURL returns the PostgreSQL URL of VIGIL_DATABASE_URL or
// VIGIL_DATABASE_URL_FILE, and where it came from; "" for the embedded
// store.
func databaseURL(getenv func(string) string) (dsn, source string, err error) {
	var cfg config.Config
	cmd := &cobra.Command{}
	cmd.Flags().String("database-url", "", "")
	if err := applyDatabaseURL(cmd, &cfg, getenv); err != nil {
		return "", "", err
	}
	return cfg.DatabaseURL, cfg.DatabaseURLSource, nil
}

// sqliteOnly refuses a command that works on the embedded store only when
// a PostgreSQL URL is configured.
func sqliteOnly(command string, getenv func(string) string) error {
	dsn, source, err := databaseURL(getenv)
	if err != nil {
		return err
	}
	if dsn != "" {
		return fmt.Errorf("vigil %s works on the embedded SQLite store only, and %s selects PostgreSQL: back PostgreSQL up with pg_dump and restore with pg_restore (docs/operations.md, \"PostgreSQL\")", command, source)
	}
	return nil
}

// openOfflineStore opens the store an offline command works on: PostgreSQL
// when VIGIL_DATABASE_URL(_FILE) is set, else the SQLite store in data.
func openOfflineStore(ctx context.Context, data string, getenv func(string) string) (store, error) {
	dsn, source, err := databaseURL(getenv)
	if err != nil {
		return nil, err
	}
	if dsn == "" {
		return sqlite.Open(ctx, filepath.Join(data, "vigil.db"))
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL store %s (from %s): %w", postgres.RedactDSN(dsn), source, err)
	}
	return db, nil
}

// openLocalKEK loads the KEK, finishing an interrupted local rotation: when
// master.key.new exists and the store's data keys unwrap with it but not
// with master.key, the rotation committed and only the rename is left.
func openLocalKEK(ctx context.Context, db control.DataKeyStore, path string, create bool) (*kek.Local, error) {
	k, err := kek.LoadOrCreate(path, create)
	if err != nil {
		return nil, err
	}
	next := path + ".new"
	if _, err := os.Stat(next); err != nil {
		return k, nil
	}
	if _, _, err := control.OpenKeyring(ctx, db, k); err == nil {
		os.Remove(next) // the rotation never committed
		return k, nil
	}
	nk, err := kek.LoadOrCreate(next, false)
	if err != nil {
		return nil, err
	}
	if _, _, err := control.OpenKeyring(ctx, db, nk); err != nil {
		return nil, fmt.Errorf("neither %s nor %s unwraps the data keys: %w", path, next, err)
	}
	if err := os.Rename(next, path); err != nil {
		return nil, fmt.Errorf("finish key rotation: %w", err)
	}
	return nk, nil
}

// openConfiguredKEK opens the KEK that VIGIL_KEK_PROVIDER selects: the
// local master key (finishing an interrupted local rotation) or the HSM.
// The returned close releases an HSM session.
func openConfiguredKEK(ctx context.Context, db control.DataKeyStore, data string, getenv func(string) string) (control.KEK, func(), error) {
	prov, err := kek.ProviderFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}
	if prov == kek.ProviderPKCS11 {
		p, err := kek.FromEnv(getenv, data, false)
		if err != nil {
			return nil, nil, err
		}
		return p, func() { p.Close() }, nil
	}
	path, _ := masterKeyPath(data, getenv)
	k, err := openLocalKEK(ctx, db, path, false)
	if err != nil {
		return nil, nil, err
	}
	return k, func() {}, nil
}

func newKEKCmd(stdout io.Writer, getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{Use: "kek", Short: "Manage the key-encryption key (KEK)"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rewrap every data key under a new key-encryption key",
		Long: `Rewrap every data key under a new key-encryption key, without re-encrypting
any data, in one transaction. It rotates from the KEK that VIGIL_KEK_PROVIDER
selects (local by default) to the one --to names (the same provider by
default):
  --to local    a new <data>/master.key, made and swapped in atomically (a
                rotation interrupted by a crash is finished on the next start);
                or the 32-byte key in --new-key-file, which the server must then
                be given as VIGIL_MASTER_KEY_FILE
  --to pkcs11   a key generated inside the HSM that VIGIL_PKCS11_MODULE,
                VIGIL_PKCS11_TOKEN_LABEL and VIGIL_PKCS11_PIN(_FILE) name, under
                --to-key-label (default VIGIL_PKCS11_KEY_LABEL or vigil-kek);
                needs a vigil built with -tags pkcs11
It can run while the server runs. Restart the server with the variables it
prints.`,
		Args: cobra.NoArgs,
	}
	data := dataFlag(rotate, getenv)
	newFile := rotate.Flags().String("new-key-file", "", "with --to local: rewrap under the key in this file instead of a new master.key")
	to := rotate.Flags().String("to", "", "provider to rotate to: local or pkcs11 (default: the current one)")
	toLabel := rotate.Flags().String("to-key-label", "", "with --to pkcs11: label of the HSM key to use or make")
	rotate.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		db, err := openOfflineStore(ctx, *data, getenv)
		if err != nil {
			return err
		}
		defer db.Close()
		from, err := kek.ProviderFromEnv(getenv)
		if err != nil {
			return err
		}
		target := *to
		if target == "" {
			target = from
		}
		if *toLabel != "" && target != kek.ProviderPKCS11 {
			return errors.New("--to-key-label goes with --to pkcs11")
		}
		if *newFile != "" && target != kek.ProviderLocal {
			return errors.New("--new-key-file goes with --to local")
		}
		old, closeOld, err := openConfiguredKEK(ctx, db, *data, getenv)
		if err != nil {
			return err
		}
		defer closeOld()
		path, local := masterKeyPath(*data, getenv)
		var next control.KEK
		var finish func() error // after a successful rewrap
		var cleanup func()      // after a failed one
		switch target {
		case kek.ProviderPKCS11:
			cfg, err := kek.PKCS11ConfigFromEnv(getenv)
			if err != nil {
				return err
			}
			if *toLabel != "" {
				cfg.KeyLabel = *toLabel
			}
			cfg.Create = true
			hsm, err := kek.OpenPKCS11(cfg)
			if err != nil {
				return err
			}
			defer hsm.Close()
			if hsm.ID() == old.ID() {
				return fmt.Errorf("the data keys are already wrapped by %s; give --to-key-label a new label", old.ID())
			}
			next = hsm
		case kek.ProviderLocal:
			switch {
			case *newFile != "":
				k, err := kek.LoadOrCreate(*newFile, false)
				if err != nil {
					return err
				}
				next = k
			case from == kek.ProviderLocal && local:
				staged := path + ".new"
				os.Remove(staged)
				k, err := kek.LoadOrCreate(staged, true)
				if err != nil {
					return err
				}
				next = k
				finish = func() error {
					if err := os.Rename(staged, path); err != nil {
						return fmt.Errorf("swap in the new master key: %w (the data keys are already rewrapped; the next start finishes this)", err)
					}
					return nil
				}
				cleanup = func() { os.Remove(staged) }
			case from == kek.ProviderLocal:
				return errors.New("VIGIL_MASTER_KEY_FILE is set: give --new-key-file with the new key, then point VIGIL_MASTER_KEY_FILE at it")
			default: // from the HSM back to a local key
				if _, err := os.Stat(path); err == nil {
					return fmt.Errorf("%s exists (an old key?); move it away or give --new-key-file", path)
				}
				k, err := kek.LoadOrCreate(path, true)
				if err != nil {
					return err
				}
				next = k
				cleanup = func() { os.Remove(path) }
			}
		default:
			return fmt.Errorf("--to must be local or pkcs11, not %q", target)
		}
		n, err := control.RewrapDataKeys(ctx, db, old, next)
		if err != nil {
			if cleanup != nil {
				cleanup()
			}
			return err
		}
		if finish != nil {
			if err := finish(); err != nil {
				return err
			}
		}
		if ring, _, err := control.OpenKeyring(ctx, db, next); err == nil {
			l := audit.NewLog(audit.NewChain(ring.AuditKey()), db, slog.New(slog.DiscardHandler), time.Now)
			l.Record(ctx, vigil.AuditEvent{Principal: "local-operator", Action: "kek/rotate/action", Scope: "/", Source: "local", Outcome: vigil.OutcomeSuccess, Detail: fmt.Sprintf("%s -> %s", old.ID(), next.ID())})
			l.Close()
		}
		fmt.Fprintf(stdout, "rewrapped %d data key(s) from %s to %s\n", n, old.ID(), next.ID())
		switch {
		case target == kek.ProviderPKCS11:
			fmt.Fprintf(stdout, "start Vigil with VIGIL_KEK_PROVIDER=pkcs11")
			if *toLabel != "" {
				fmt.Fprintf(stdout, " VIGIL_PKCS11_KEY_LABEL=%s", *toLabel)
			}
			fmt.Fprintln(stdout)
			if from == kek.ProviderLocal {
				fmt.Fprintf(stdout, "once it runs on the HSM, destroy %s and any copy of it\n", path)
			}
		case *newFile != "":
			fmt.Fprintf(stdout, "start Vigil with VIGIL_MASTER_KEY_FILE=%s\n", *newFile)
		case from == kek.ProviderPKCS11:
			fmt.Fprintf(stdout, "start Vigil with VIGIL_KEK_PROVIDER=local (the key is %s)\n", path)
		}
		return nil
	}
	cmd.AddCommand(rotate)
	return cmd
}

// Backup files: "VIGILBK1", the wrapped file key (length-prefixed), then
// AES-256-GCM chunks of the database, each length-prefixed, nonce = chunk
// counter, the last chunk marked in its associated data so a cut file is
// refused.
const (
	backupMagic = "VIGILBK1"
	backupChunk = 1 << 20
	backupAAD   = "vigil backup file key v1"
)

func newBackupCmd(stdout io.Writer, getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup -o FILE",
		Short: "Write an encrypted, consistent backup of the embedded store",
		Long: `Write a consistent copy of the SQLite store, taken while the server runs,
encrypted (AES-256-GCM) under a file key wrapped by the key-encryption key.
Restoring needs the same KEK (master.key): back it up separately, and keep it
apart from the backups. For PostgreSQL use pg_dump (docs/operations.md).`,
		Args: cobra.NoArgs,
	}
	data := dataFlag(cmd, getenv)
	out := cmd.Flags().StringP("output", "o", "", "backup file to write (must not exist)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sqliteOnly("backup", getenv); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("give the backup file with -o FILE")
		}
		ctx := cmd.Context()
		db, err := sqlite.Open(ctx, filepath.Join(*data, "vigil.db"))
		if err != nil {
			return err
		}
		defer db.Close()
		k, closeKEK, err := openConfiguredKEK(ctx, db, *data, getenv)
		if err != nil {
			return err
		}
		defer closeKEK()
		tmp, err := os.MkdirTemp(filepath.Dir(*out), ".vigil-backup-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		snap := filepath.Join(tmp, "snapshot.db")
		if err := db.BackupTo(ctx, snap); err != nil {
			return err
		}
		n, err := encryptFile(snap, *out, k)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup written to %s (%d bytes, encrypted under %s)\n", *out, n, k.ID())
		return nil
	}
	return cmd
}

func encryptFile(src, dst string, k control.KEK) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fileKey := make([]byte, 32)
	if _, err := rand.Read(fileKey); err != nil {
		return 0, err
	}
	wrapped, err := k.Wrap(fileKey, backupAAD)
	if err != nil {
		return 0, err
	}
	block, _ := aes.NewCipher(fileKey)
	aead, _ := cipher.NewGCM(block)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	w := &countWriter{w: f}
	w.Write([]byte(backupMagic))
	writeFrame(w, wrapped)
	buf := make([]byte, backupChunk)
	var counter uint64
	for {
		n, rerr := io.ReadFull(in, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			f.Close()
			return 0, rerr
		}
		last := rerr != nil
		writeFrame(w, aead.Seal(nil, chunkNonce(counter), buf[:n], chunkAAD(last)))
		counter++
		if last {
			break
		}
	}
	if w.err != nil {
		f.Close()
		return 0, w.err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return 0, err
	}
	return w.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func writeFrame(w io.Writer, b []byte) {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(b)))
	w.Write(l[:])
	w.Write(b)
}

func readFrame(r io.Reader, max int) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(l[:]))
	if n > max {
		return nil, errors.New("backup file is corrupt (frame too large)")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func chunkNonce(counter uint64) []byte {
	n := make([]byte, 12)
	binary.BigEndian.PutUint64(n[4:], counter)
	return n
}

func chunkAAD(last bool) []byte {
	if last {
		return []byte("vigil backup chunk, last")
	}
	return []byte("vigil backup chunk")
}

func decryptFile(src, dst string, k control.KEK) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(in, magic); err != nil || string(magic) != backupMagic {
		return errors.New("not a Vigil backup file")
	}
	wrapped, err := readFrame(in, 1024)
	if err != nil {
		return errors.New("backup file is corrupt (no file key)")
	}
	fileKey, err := k.Unwrap(wrapped, backupAAD)
	if err != nil {
		return fmt.Errorf("the backup's file key does not unwrap with %s: was it made under another KEK? %w", k.ID(), err)
	}
	block, _ := aes.NewCipher(fileKey)
	aead, _ := cipher.NewGCM(block)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	for counter := uint64(0); ; counter++ {
		frame, err := readFrame(in, backupChunk+aead.Overhead())
		if err != nil {
			return errors.New("backup file is truncated or corrupt")
		}
		if pt, err := aead.Open(nil, chunkNonce(counter), frame, chunkAAD(true)); err == nil {
			if _, err := out.Write(pt); err != nil {
				return err
			}
			if _, err := in.Read(make([]byte, 1)); err != io.EOF {
				return errors.New("backup file has data after its last chunk")
			}
			return out.Sync()
		}
		pt, err := aead.Open(nil, chunkNonce(counter), frame, chunkAAD(false))
		if err != nil {
			return fmt.Errorf("backup file chunk %d fails authentication: altered or corrupt", counter)
		}
		if _, err := out.Write(pt); err != nil {
			return err
		}
	}
}

func newRestoreCmd(stdout io.Writer, getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore -i FILE",
		Short: "Restore the embedded store from an encrypted backup",
		Long: `Restore the SQLite store from a backup made by "vigil backup". Stop the server
first. The backup is decrypted with the key-encryption key, checked (file
authentication, SQLite integrity check, schema version, and that its data
keys unwrap), and only then swapped in. An existing store is replaced only
with --force.`,
		Args: cobra.NoArgs,
	}
	data := dataFlag(cmd, getenv)
	in := cmd.Flags().StringP("input", "i", "", "backup file to restore")
	force := cmd.Flags().Bool("force", false, "replace an existing store")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sqliteOnly("restore", getenv); err != nil {
			return err
		}
		if *in == "" {
			return errors.New("give the backup file with -i FILE")
		}
		ctx := cmd.Context()
		dbPath := filepath.Join(*data, "vigil.db")
		if _, err := os.Stat(dbPath); err == nil && !*force {
			return fmt.Errorf("%s exists; stop the server and add --force to replace it", dbPath)
		}
		var k control.KEK
		if prov, err := kek.ProviderFromEnv(getenv); err != nil {
			return err
		} else if prov == kek.ProviderPKCS11 {
			p, err := kek.FromEnv(getenv, *data, false)
			if err != nil {
				return err
			}
			defer p.Close()
			k = p
		} else {
			path, _ := masterKeyPath(*data, getenv)
			if k, err = kek.LoadOrCreate(path, false); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(*data, 0o700); err != nil {
			return err
		}
		staged := dbPath + ".restore"
		os.Remove(staged)
		if err := decryptFile(*in, staged, k); err != nil {
			os.Remove(staged)
			return err
		}
		if err := verifyRestored(ctx, staged, k); err != nil {
			os.Remove(staged)
			return fmt.Errorf("the backup does not verify, nothing was changed: %w", err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if err := os.Rename(staged, dbPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored %s from %s\n", dbPath, *in)
		return nil
	}
	return cmd
}

func verifyRestored(ctx context.Context, path string, k control.KEK) error {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if res, err := db.IntegrityCheck(ctx); err != nil || res != "ok" {
		return fmt.Errorf("integrity check: %v %s", err, res)
	}
	keys, err := db.DataKeys(ctx)
	if err != nil {
		return err
	}
	for _, dk := range keys {
		if _, err := k.Unwrap(dk.Wrapped, "vigil data key v1"); err != nil {
			return fmt.Errorf("data key %d does not unwrap with %s", dk.ID, k.ID())
		}
	}
	return nil
}
