package main

// audit.go holds "vigil audit list" and "vigil audit verify".

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/client"
)

// exitAuditBroken is the exit code of "vigil audit verify" when the chain
// is broken; 1 means the check could not be made.
const exitAuditBroken = 2

func newAuditCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the tamper-evident audit log",
		Long: `Read and verify the audit log: every management change, every denied call and
every failed authentication, each record chained to the one before by a MAC
that only the server can compute. Both commands need audit/read at / (the
built-in Reader role does not grant it).

` + connectionHelp,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	cmd.AddCommand(newAuditListCmd(cf), newAuditVerifyCmd(cf))
	for _, c := range cmd.Commands() {
		c.DisableFlagsInUseLine = true
	}
	return cmd
}

func newAuditListCmd(cf *clientFlags) *cobra.Command {
	var f client.AuditFilter
	cmd := &cobra.Command{
		Use:   "list [--since 1h|RFC3339] [--principal P] [--action A] [--limit N]",
		Short: "List audit events, oldest first",
		Long: `List audit events, oldest first: sequence number, time, principal, action,
scope, source address, outcome (success, denied or failure) and detail.
--since takes a duration back from now on the server's clock (1h, 30m) or an
RFC 3339 time (2026-11-22T06:00:00Z). --principal and --action match exactly.
--limit keeps the newest N matching events (default 1000, at most 100000).`,
		Example: `  vigil audit list --since 1h
  vigil audit list --principal token:1f2e3d --action endpoints/listKeys/action -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Since != "" {
				if _, err := time.Parse(time.RFC3339, f.Since); err != nil {
					if d, derr := time.ParseDuration(f.Since); derr != nil || d <= 0 {
						return fmt.Errorf("--since %q: give a duration such as 1h or 30m, or an RFC 3339 time such as 2026-11-22T06:00:00Z", clipText(f.Since))
					}
				}
			}
			if cmd.Flags().Changed("limit") && (f.Limit < 1 || f.Limit > 100000) {
				return fmt.Errorf("--limit %d: must be from 1 to 100000", f.Limit)
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			evs, err := c.ListAudit(cmd.Context(), f)
			if err != nil {
				return cf.explain(err, "")
			}
			if evs == nil {
				evs = []client.AuditEvent{}
			}
			return render(cmd.OutOrStdout(), cf.output, evs, func(tw *tabwriter.Writer) {
				row(tw, "SEQ", "TIME", "PRINCIPAL", "ACTION", "SCOPE", "SOURCE", "OUTCOME", "DETAIL")
				for _, e := range evs {
					row(tw, e.Seq, formatTime(e.Time), e.Principal, e.Action, e.Scope, e.Source, e.Outcome, e.Detail)
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Since, "since", "", "only events from this time on: a duration back from now (1h) or an RFC 3339 time")
	fl.StringVar(&f.Principal, "principal", "", "only events of this principal (admin, token:<id>, user:<subject>, ...)")
	fl.StringVar(&f.Action, "action", "", "only events of this action (endpoints/listKeys/action, ...)")
	fl.IntVar(&f.Limit, "limit", 0, "keep the newest N matching events (default 1000)")
	return cmd
}

func newAuditVerifyCmd(cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit record was altered, removed or reordered",
		Long: `Make the server check the whole audit chain. When it is intact, print
"audit chain intact: N records" and exit 0. When a record was altered,
removed or reordered in the database, name the first broken record (its
sequence number and the kind of break) on standard error and exit 2; exit 1
means the check could not be made. -o json or -o yaml prints the server's
answer ({"ok", "checked", "problem": {"seq", "kind", "text"}}) in either case.`,
		Example: `  vigil audit verify || alert "audit log tampered with"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			v, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return cf.explain(err, "")
			}
			if cf.output != "table" {
				if err := render(cmd.OutOrStdout(), cf.output, v, nil); err != nil {
					return err
				}
			}
			if v.OK {
				if cf.output == "table" {
					fmt.Fprintf(cmd.OutOrStdout(), "audit chain intact: %d records\n", v.Checked)
				}
				return nil
			}
			h := &hintError{
				msg:  fmt.Sprintf("audit chain broken after %d records checked", v.Checked),
				hint: "the database was changed outside Vigil; keep a copy of the data directory as evidence before anything else writes to it",
			}
			if p := v.Problem; p != nil {
				h.msg = fmt.Sprintf("audit chain broken at record %d (%s): %s; %d records checked", p.Seq, cellText(p.Kind), cellText(p.Text), v.Checked)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "vigil:", h)
			return &exitError{code: exitAuditBroken}
		},
	}
}
