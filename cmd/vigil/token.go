package main

// token.go holds "vigil token" (access tokens for scripts and CI) and
// "vigil admin-token rotate".

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/client"
	vcred "github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/vigil"
)

// maxTokenLifetime is the longest --expires the server takes.
const maxTokenLifetime = 365 * 24 * time.Hour

// connectionHelp ends the Long help of the client command groups.
const connectionHelp = `The server is --url (VIGIL_URL, default ` + defaultServerURL + `); the token is
--token, else VIGIL_TOKEN, else the file admin-token in the data directory
(--data, VIGIL_DATA, default ` + defaultDataDir + `).`

func newTokenCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage access tokens for scripts and pipelines",
		Long: `Manage access tokens: bearer tokens for the management API that expire, each
its own principal (token:<id>) with no role until one is assigned with
"vigil role assignment create". A token is shown once, when it is created;
the server keeps only its hash. Creating and revoking needs tokens/write at /,
listing tokens/read at /.

` + connectionHelp,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	cmd.AddCommand(newTokenCreateCmd(cf), newTokenListCmd(cf), newTokenRevokeCmd(cf))
	for _, c := range cmd.Commands() {
		c.DisableFlagsInUseLine = true
	}
	return cmd
}

// formatTime writes a time in UTC to the second, as the tables show times.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func newTokenCreateCmd(cf *clientFlags) *cobra.Command {
	var name, expires string
	cmd := &cobra.Command{
		Use:   "create -n NAME [--expires 24h]",
		Short: "Create an access token (shown once)",
		Long: `Create an access token and print it with its name, principal and expiry. The
token is shown only now: store it in your secret store at once. It has no
role until you assign one to its principal, for example
  vigil role assignment create --assignee token:<id> --role Reader
--expires is a Go duration (30m, 12h, 720h), at most a year (8760h); the
default is 24h. Names are unique among live tokens.`,
		Example: `  vigil token create -n ci --expires 720h -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("expires") {
				d, err := time.ParseDuration(expires)
				if err != nil {
					return fmt.Errorf("--expires %q: not a duration; write for example 30m, 12h or 720h", clipText(expires))
				}
				if d <= 0 || d > maxTokenLifetime {
					return fmt.Errorf("--expires %s: must be positive and at most a year (8760h)", clipText(expires))
				}
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), name, expires)
			if err != nil {
				err = cf.explain(err, "")
				if h, ok := err.(*hintError); ok && vigil.ErrorCode(err) == vigil.EConflict {
					h.hint = fmt.Sprintf("pick another name, or revoke the old token first with vigil token revoke -n %s", name)
				}
				return err
			}
			if err := render(cmd.OutOrStdout(), cf.output, t, func(tw *tabwriter.Writer) {
				row(tw, "NAME", "PRINCIPAL", "EXPIRES_AT", "TOKEN")
				row(tw, t.Name, t.Principal, formatTime(t.ExpiresAt), t.Token)
			}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "the token is shown only once; it has no role yet: vigil role assignment create --assignee %s --role ROLE\n", cellText(t.Principal))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&name, "name", "n", "", "token name (required)")
	f.StringVar(&expires, "expires", "", "lifetime as a Go duration, at most 8760h (default 24h)")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newTokenListCmd(cf *clientFlags) *cobra.Command {
	return listCmd(cf, &cobra.Command{
		Use:   "list",
		Short: "List the live access tokens (never their values)",
		Long: `List the live access tokens: name, principal, expiry and creation time. The
admin token is listed as bootstrap-admin (principal admin); it does not
expire. Token values are never shown: the server does not keep them.`,
	}, (*client.Client).ListTokens, tokenTable)
}

// tokenTable lists access tokens: never their values, which the server does
// not keep.
func tokenTable(ts []client.AccessTokenInfo) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		row(tw, "NAME", "PRINCIPAL", "EXPIRES_AT", "CREATED_AT")
		for _, t := range ts {
			exp := "never"
			if t.ExpiresAt != nil {
				exp = formatTime(*t.ExpiresAt)
			}
			row(tw, t.Name, t.Principal, exp, formatTime(t.CreatedAt))
		}
	}
}

func newTokenRevokeCmd(cf *clientFlags) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "revoke (-n NAME | NAME)",
		Short: "Revoke an access token",
		Long: `Revoke an access token by name; it stops working at once. Its role
assignments stay (vigil role assignment list shows them); delete them with
vigil role assignment delete. To replace the admin token, use
vigil admin-token rotate.`,
		Example: `  vigil token revoke -n ci
  vigil token revoke ci`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if name != "" && name != args[0] {
					return fmt.Errorf("two names given (--name %s and %s); give one", clipText(name), clipText(args[0]))
				}
				name = args[0]
			}
			if name == "" {
				return errors.New("which token? give its name: vigil token revoke -n NAME (vigil token list shows them)")
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), name); err != nil {
				return cf.explain(err, "vigil token list shows the live tokens")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "revoked token %s\n", cellText(name))
			return nil
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "token name")
	return cmd
}

// newAdminTokenCmd is "vigil admin-token rotate" and "vigil admin-token
// generate".
func newAdminTokenCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin-token",
		Short: "Generate or rotate the bootstrap admin token",
		Args:  cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	cmd.AddCommand(newAdminTokenGenerateCmd())
	cmd.AddCommand(&cobra.Command{
		Use:                   "rotate",
		DisableFlagsInUseLine: true,
		Short:                 "Replace the admin token; the server writes the new one to its data directory",
		Long: `Replace the bootstrap admin token. The old token stops working at once; the
server writes the new one to the file admin-token in its data directory
(mode 0600), where the CLI on the server's host finds it. The new token is
not printed, unless -o json or -o yaml asks for it ({"token": "..."}): it is
shown only this once. Needs roles/write at /.

If VIGIL_TOKEN or --token held the old admin token, set it to the new one.

A server started with VIGIL_ADMIN_TOKEN_FILE (the admin token in a file the
operator manages, such as a Kubernetes Secret) refuses this with a
conflict: Vigil never writes that file. Rotate such a token by putting a
new one (vigil admin-token generate) into the file or Secret and restarting
every server; each revokes the old token as it starts. The CLI reads
VIGIL_ADMIN_TOKEN_FILE too, when neither --token nor VIGIL_TOKEN is set.

` + connectionHelp,
		Example: `  vigil admin-token rotate
  vigil admin-token rotate -o json   # prints the new token once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			t, err := c.RotateAdminToken(cmd.Context())
			if err != nil {
				err = cf.explain(err, "")
				if h, ok := err.(*hintError); ok && vigil.ErrorCode(err) == vigil.EConflict {
					h.hint = "this server's admin token is managed in a file (VIGIL_ADMIN_TOKEN_FILE); after changing it, restart every server, e.g. kubectl rollout restart deploy/vigil"
				}
				return err
			}
			stderr := cmd.ErrOrStderr()
			if cf.output != "table" {
				if err := render(cmd.OutOrStdout(), cf.output, t, nil); err != nil {
					return err
				}
			}
			const done = "rotated the admin token: the old one no longer works"
			switch cf.tokenSource {
			case "--token", "VIGIL_TOKEN":
				fmt.Fprintf(stderr, "%s; the server wrote the new one to admin-token in its data directory\n", done)
				fmt.Fprintf(stderr, "%s holds the old token: replace it with the new one\n", cf.tokenSource)
			default:
				// The token came from a file: say whether it is the one the
				// server rewrote.
				if b, err := os.ReadFile(cf.tokenSource); err == nil && strings.TrimSpace(string(b)) == t.Token {
					fmt.Fprintf(stderr, "%s; the new one is in %s\n", done, cf.tokenSource)
				} else {
					fmt.Fprintf(stderr, "%s; the server wrote the new one to admin-token in its data directory\n", done)
					fmt.Fprintf(stderr, "%s still holds the old token: copy the new one there from the server\n", cf.tokenSource)
				}
			}
			return nil
		},
	})
	return cmd
}

// newAdminTokenGenerateCmd is "vigil admin-token generate": it prints a new
// token for VIGIL_ADMIN_TOKEN_FILE, without calling a server.
func newAdminTokenGenerateCmd() *cobra.Command {
	return &cobra.Command{
		Use:                   "generate",
		DisableFlagsInUseLine: true,
		Short:                 "Print a new admin token for VIGIL_ADMIN_TOKEN_FILE (calls no server)",
		Long: `Print a new random admin token, in the form Vigil makes them ("vgt_" and 43
base64url characters), and nothing else. It calls no server and changes
nothing: put the token into the file VIGIL_ADMIN_TOKEN_FILE names (mode
0600, or 0440 as a Kubernetes Secret mounts it), or into the Secret, and
(re)start the servers. They make it the bootstrap admin token and revoke any
other.`,
		Example: `  vigil admin-token generate > admin-token && chmod 600 admin-token
  kubectl create secret generic vigil-admin-token --from-literal=token="$(vigil admin-token generate)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, _, err := vcred.NewAccessToken()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
}
