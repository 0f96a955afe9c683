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

func newKEKCmd(stdout io.Writer, getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{Use: "kek", Short: "Manage the key-encryption key (KEK)"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rewrap every data key under a new key-encryption key",
		Long: `Rewrap every data key under a new key-encryption key, without re-encrypting
any data. With the local provider (the default) a new <data>/master.key is
made and swapped in atomically; a rotation interrupted by a crash is finished
on the next start. With --new-key-file the data keys are rewrapped under the
32-byte key in that file, which the server must then be given as
VIGIL_MASTER_KEY_FILE. It can run while the server runs.`,
		Args: cobra.NoArgs,
	}
	data := dataFlag(rotate, getenv)
	newFile := rotate.Flags().String("new-key-file", "", "rewrap under the key in this file instead of a new local master.key")
	rotate.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		db, err := openOfflineStore(ctx, *data, getenv)
		if err != nil {
			return err
		}
		defer db.Close()
		path, local := masterKeyPath(*data, getenv)
		old, err := openLocalKEK(ctx, db, path, false)
		if err != nil {
			return err
		}
		var next *kek.Local
		target := *newFile
		if target == "" {
			if !local {
				return errors.New("VIGIL_MASTER_KEY_FILE is set: give --new-key-file with the new key, then point VIGIL_MASTER_KEY_FILE at it")
			}
			target = path + ".new"
			os.Remove(target)
			if next, err = kek.LoadOrCreate(target, true); err != nil {
				return err
			}
		} else if next, err = kek.LoadOrCreate(target, false); err != nil {
			return err
		}
		n, err := control.RewrapDataKeys(ctx, db, old, next)
		if err != nil {
			if *newFile == "" {
				os.Remove(target)
			}
			return err
		}
		if *newFile == "" {
			if err := os.Rename(target, path); err != nil {
				return fmt.Errorf("swap in the new master key: %w (the data keys are already rewrapped; the next start finishes this)", err)
			}
		}
		if ring, _, err := control.OpenKeyring(ctx, db, next); err == nil {
			l := audit.NewLog(audit.NewChain(ring.AuditKey()), db, slog.New(slog.DiscardHandler), time.Now)
			l.Record(ctx, vigil.AuditEvent{Principal: "local-operator", Action: "kek/rotate/action", Scope: "/", Source: "local", Outcome: vigil.OutcomeSuccess, Detail: fmt.Sprintf("%s -> %s", old.ID(), next.ID())})
			l.Close()
		}
		fmt.Fprintf(stdout, "rewrapped %d data key(s) from %s to %s\n", n, old.ID(), next.ID())
		if *newFile != "" {
			fmt.Fprintf(stdout, "start Vigil with VIGIL_MASTER_KEY_FILE=%s\n", *newFile)
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
		path, _ := masterKeyPath(*data, getenv)
		k, err := openLocalKEK(ctx, db, path, false)
		if err != nil {
			return err
		}
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

func encryptFile(src, dst string, k *kek.Local) (int64, error) {
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

func decryptFile(src, dst string, k *kek.Local) error {
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
		path, _ := masterKeyPath(*data, getenv)
		k, err := kek.LoadOrCreate(path, false)
		if err != nil {
			return err
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

func verifyRestored(ctx context.Context, path string, k *kek.Local) error {
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
