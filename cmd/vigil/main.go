// Command vigil is Vigil's one binary: `vigil serve` runs the server, the
// other subcommands are its clients and tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run executes the command line and returns the process exit code. It is
// main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRootCmd(stdout, stderr, getenv)
	// The Azure container took settings as Key=Value arguments
	// (ApiKey=..., Eula=accept, Billing=...): with no subcommand, such
	// arguments mean "serve".
	if len(args) > 0 && isContainerSetting(args[0]) {
		args = append([]string{"serve"}, args...)
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "vigil:", err)
	return 1
}

func newRootCmd(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "Vigil runs anomaly-detection models as secure online endpoints",
		Long: `Vigil runs machine-learning models as secure online endpoints. Its flagship
model is a drop-in replacement for the Azure AI Anomaly Detector REST API.

Start the server with "vigil serve"; the other commands are its tools.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(stdout, stderr, getenv))
	root.AddCommand(newKEKCmd(stdout, getenv), newBackupCmd(stdout, getenv), newRestoreCmd(stdout, getenv))
	root.AddCommand(newDetectCmd())
	root.AddCommand(newEndpointCmd(getenv))
	root.AddCommand(newDeploymentCmd(getenv))
	root.AddCommand(newSigningKeyCmd(getenv))
	root.AddCommand(newTokenCmd(getenv), newAdminTokenCmd(getenv))
	root.AddCommand(newRoleCmd(getenv))
	root.AddCommand(newAuditCmd(getenv))
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print Vigil's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "vigil", version)
			return nil
		},
	})
	return root
}
