package main

// role.go holds "vigil role assignment ..." and "vigil role definition ...",
// after "az role assignment" and "az role definition".

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vigilhq/vigil/internal/client"
	"github.com/vigilhq/vigil/internal/rbac"
	"go.yaml.in/yaml/v3"
)

func newRoleCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role",
		Short: "Manage roles and role assignments (az role)",
		Long: `Manage who may do what, as "az role" does on Azure: a role definition is a
named set of actions; a role assignment gives a role to a principal at a
scope, and covers everything below the scope.

Principals: admin, user:<subject>, group:<name>, sp:<client id>, token:<id>
(vigil token list shows token principals). Scopes: /, /endpoints/<name>,
/endpoints/<name>/deployments/<name>. Built-in roles: Owner, Contributor,
Reader, Endpoint Scorer, Key Manager (vigil role definition list shows what
they grant). Listing needs roles/read at /, changing roles/write at /.

` + connectionHelp,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	assignment := &cobra.Command{
		Use:   "assignment",
		Short: "Give roles to principals at scopes",
		Args:  cobra.NoArgs,
	}
	assignment.AddCommand(newAssignmentCreateCmd(cf), newAssignmentListCmd(cf), newAssignmentDeleteCmd(cf))
	definition := &cobra.Command{
		Use:   "definition",
		Short: "List roles and create custom roles",
		Args:  cobra.NoArgs,
	}
	definition.AddCommand(newDefinitionCreateCmd(cf), newDefinitionListCmd(cf))
	cmd.AddCommand(assignment, definition)
	for _, g := range cmd.Commands() {
		for _, c := range g.Commands() {
			c.DisableFlagsInUseLine = true
		}
	}
	return cmd
}

func assignmentTable(as []client.RoleAssignment) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		row(tw, "ID", "PRINCIPAL", "ROLE", "SCOPE")
		for _, a := range as {
			row(tw, a.ID, a.Principal, a.Role, a.Scope)
		}
	}
}

func newAssignmentCreateCmd(cf *clientFlags) *cobra.Command {
	var assignee, role, scope string
	cmd := &cobra.Command{
		Use:   "create --assignee PRINCIPAL --role ROLE [--scope /]",
		Short: "Give a role to a principal at a scope",
		Long: `Give a role to a principal at a scope. The assignment covers everything below
the scope: Reader at / reads every endpoint, Key Manager at
/endpoints/sales manages only that endpoint's keys. Role names are matched
without regard to case.`,
		Example: `  vigil role assignment create --assignee token:1f2e3d --role Reader
  vigil role assignment create --assignee group:ops --role "Key Manager" --scope /endpoints/sales`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rbac.ValidateScope(scope); err != nil {
				return fmt.Errorf("--scope: %v", err)
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			a, err := c.CreateAssignment(cmd.Context(), assignee, role, scope)
			if err != nil {
				err = cf.explain(err, "")
				if h, ok := err.(*hintError); ok && h.hint == "" && strings.Contains(h.msg, "does not exist") {
					h.hint = "vigil role definition list shows the roles"
				}
				return err
			}
			return render(cmd.OutOrStdout(), cf.output, a, assignmentTable([]client.RoleAssignment{*a}))
		},
	}
	f := cmd.Flags()
	f.StringVar(&assignee, "assignee", "", "principal: user:<subject>, group:<name>, sp:<client id>, token:<id> or admin (required)")
	f.StringVar(&role, "role", "", "role name, e.g. Reader (required)")
	f.StringVar(&scope, "scope", "/", "where the role applies: /, /endpoints/<name> or /endpoints/<name>/deployments/<name>")
	cmd.MarkFlagRequired("assignee")
	cmd.MarkFlagRequired("role")
	return cmd
}

// assignmentFilter selects role assignments as az role assignment list
// and delete do: by principal, role (any case) and scope; an empty field
// matches everything.
type assignmentFilter struct {
	assignee, role, scope string
}

func (f *assignmentFilter) flags(fs *pflag.FlagSet) {
	fs.StringVar(&f.assignee, "assignee", "", "only the assignments of this principal (user:<subject>, group:<name>, sp:<client id>, token:<id> or admin)")
	fs.StringVar(&f.role, "role", "", "only the assignments of this role (any case)")
	fs.StringVar(&f.scope, "scope", "", "only the assignments at exactly this scope")
}

func (f *assignmentFilter) empty() bool { return f.assignee == "" && f.role == "" && f.scope == "" }

func (f *assignmentFilter) match(a client.RoleAssignment) bool {
	return (f.assignee == "" || a.Principal == f.assignee) &&
		(f.role == "" || strings.EqualFold(a.Role, f.role)) &&
		(f.scope == "" || a.Scope == f.scope)
}

func (f *assignmentFilter) apply(as []client.RoleAssignment) []client.RoleAssignment {
	out := []client.RoleAssignment{}
	for _, a := range as {
		if f.match(a) {
			out = append(out, a)
		}
	}
	return out
}

func newAssignmentListCmd(cf *clientFlags) *cobra.Command {
	var filter assignmentFilter
	cmd := &cobra.Command{
		Use:   "list [--assignee PRINCIPAL] [--role ROLE] [--scope SCOPE]",
		Short: "List the role assignments",
		Long: `List the role assignments, all of them or those matching every filter given:
--assignee (the principal exactly), --role (any case) and --scope (exactly).`,
		Example: `  vigil role assignment list
  vigil role assignment list --assignee group:ops -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			as, err := c.ListAssignments(cmd.Context())
			if err != nil {
				return cf.explain(err, "")
			}
			as = filter.apply(as)
			return render(cmd.OutOrStdout(), cf.output, as, assignmentTable(as))
		},
	}
	filter.flags(cmd.Flags())
	return cmd
}

func newAssignmentDeleteCmd(cf *clientFlags) *cobra.Command {
	var id string
	var filter assignmentFilter
	cmd := &cobra.Command{
		Use:   "delete (--id ID | --assignee PRINCIPAL [--role ROLE] [--scope SCOPE])",
		Short: "Remove role assignments",
		Long: `Remove a role assignment by its id (vigil role assignment list shows the ids),
or, as az role assignment delete does, every assignment of --assignee,
narrowed by --role (any case) and --scope (exactly). The principal loses
what the assignments granted at once. The bootstrap admin's Owner
assignment cannot be removed; rotate the admin token instead.`,
		Example: `  vigil role assignment delete --id ra5d1e
  vigil role assignment delete --assignee group:ops --role "Key Manager" --scope /endpoints/sales`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case id != "" && !filter.empty():
				return errors.New("give either --id or --assignee (with --role and --scope), not both")
			case id == "" && filter.assignee == "":
				return errors.New("give --id, or --assignee (with --role and --scope to narrow it)")
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ids := []string{id}
			if id == "" {
				as, err := c.ListAssignments(cmd.Context())
				if err != nil {
					return cf.explain(err, "")
				}
				ids = ids[:0]
				for _, a := range filter.apply(as) {
					ids = append(ids, a.ID)
				}
				if len(ids) == 0 {
					return &hintError{msg: "no role assignment matches", hint: "vigil role assignment list shows the assignments"}
				}
			}
			for _, id := range ids {
				if err := c.DeleteAssignment(cmd.Context(), id); err != nil {
					return cf.explain(err, "vigil role assignment list shows the assignments and their ids")
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "deleted role assignment %s\n", cellText(id))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "assignment id")
	filter.flags(cmd.Flags())
	return cmd
}

func roleTable(rs []client.Role) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		row(tw, "NAME", "BUILT_IN", "ACTIONS", "NOT_ACTIONS", "DESCRIPTION")
		for _, r := range rs {
			row(tw, r.Name, r.BuiltIn, strings.Join(r.Actions, ","), strings.Join(r.NotActions, ","), r.Description)
		}
	}
}

func newDefinitionListCmd(cf *clientFlags) *cobra.Command {
	return listCmd(cf, &cobra.Command{
		Use:   "list",
		Short: "List the built-in and custom roles",
	}, (*client.Client).ListRoles, roleTable)
}

func newDefinitionCreateCmd(cf *clientFlags) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f role.yml",
		Short: "Create a custom role from a YAML file",
		Long: `Create a custom role from a YAML file with the keys name, description,
actions and not_actions; any other key is an error. actions lists the action
patterns the role grants, not_actions those it then takes away; "*" stands
for one or more path segments ("endpoints/*", "*/read"). The actions are
` + wrapList(rbac.Actions, 76) + `.
A custom role cannot take a built-in role's name.`,
		Example: `  cat > deployer.yml <<EOF
  name: Deployer
  description: Roll out deployments, nothing else.
  actions: [endpoints/read, deployments/*]
  not_actions: [deployments/delete]
  EOF
  vigil role definition create -f deployer.yml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("give the role file with -f role.yml (\"-\" reads standard input)")
			}
			doc, err := loadFile(cmd, file)
			if err != nil {
				return err
			}
			r, err := loadRole(doc)
			if err != nil {
				return err
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out, err := c.CreateRole(cmd.Context(), r)
			if err != nil {
				return cf.explain(err, "")
			}
			return render(cmd.OutOrStdout(), cf.output, out, roleTable([]client.Role{*out}))
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `role YAML file; "-" reads standard input (required)`)
	cmd.MarkFlagRequired("file")
	return cmd
}

// wrapList joins names with ", " into lines of at most width bytes.
func wrapList(names []string, width int) string {
	var b strings.Builder
	n := 0
	for i, s := range names {
		if i > 0 {
			b.WriteByte(',')
			n++
			if n+1+len(s) > width {
				b.WriteByte('\n')
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(s)
		n += len(s)
	}
	return b.String()
}

// roleKeys are the keys of a role file.
var roleKeys = []string{"name", "description", "actions", "not_actions"}

// loadRole reads a role file strictly: known keys, each once, of the right
// type, every action pattern matching some action.
func loadRole(d *resourceDoc) (*client.Role, error) {
	l := &loader{d: d}
	r := &client.Role{}
	seen := map[string]bool{}
	m := d.root
	for i := 0; i+1 < len(m.Content); i += 2 {
		if l.nodes += 2; l.nodes > maxYAMLNodes {
			return nil, fmt.Errorf("%s: too many YAML nodes (aliases?); write the role out plainly", d.where(m))
		}
		k, v := m.Content[i], resolveAlias(m.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return nil, l.errorf(k, "<key>", "keys must be plain names (YAML merge keys << are not supported)")
		}
		if seen[k.Value] {
			return nil, l.errorf(k, k.Value, "the key appears twice")
		}
		seen[k.Value] = true
		null := v == nil || v.Kind == yaml.ScalarNode && v.Tag == "!!null"
		switch k.Value {
		case "name", "description":
			if null {
				continue
			}
			if v.Kind != yaml.ScalarNode {
				return nil, l.errorf(v, k.Value, "must be a string")
			}
			if k.Value == "name" {
				r.Name = v.Value
			} else {
				r.Description = v.Value
			}
		case "actions", "not_actions":
			if null {
				continue
			}
			list, err := l.actionList(v, k.Value)
			if err != nil {
				return nil, err
			}
			if k.Value == "actions" {
				r.Actions = list
			} else {
				r.NotActions = list
			}
		default:
			msg := "unknown key; a role file has " + strings.Join(roleKeys, ", ")
			if s := closest(k.Value, roleKeys); s != "" {
				msg = fmt.Sprintf("unknown key (did you mean %s?)", s)
			}
			return nil, l.errorf(k, clipText(k.Value), "%s", msg)
		}
	}
	switch {
	case strings.TrimSpace(r.Name) == "":
		return nil, fmt.Errorf("%s: name: the role needs a name", d.file)
	case len(r.Actions) == 0:
		return nil, fmt.Errorf("%s: actions: list at least one action, for example actions: [endpoints/read]", d.file)
	}
	return r, nil
}

// actionList reads a YAML sequence of action patterns.
func (l *loader) actionList(v *yaml.Node, path string) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, l.errorf(v, path, "must be a list of actions, for example [endpoints/read, deployments/read]")
	}
	var out []string
	for i, e := range v.Content {
		if l.nodes++; l.nodes > maxYAMLNodes {
			return nil, fmt.Errorf("%s: too many YAML nodes (aliases?); write the role out plainly", l.d.where(v))
		}
		e = resolveAlias(e)
		p := fmt.Sprintf("%s[%d]", path, i)
		if e == nil {
			return nil, l.errorf(v, p, "must be an action such as endpoints/read")
		}
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" || strings.TrimSpace(e.Value) == "" {
			return nil, l.errorf(e, p, "must be an action such as endpoints/read")
		}
		if !matchesSomeAction(e.Value) {
			msg := fmt.Sprintf("%q matches no action Vigil knows; vigil role definition create --help lists them", clipText(e.Value))
			if s := closest(e.Value, rbac.Actions); s != "" {
				msg = fmt.Sprintf("%q matches no action Vigil knows (did you mean %s?)", clipText(e.Value), s)
			}
			return nil, l.errorf(e, p, "%s", msg)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func matchesSomeAction(pattern string) bool {
	for _, a := range rbac.Actions {
		if rbac.Match(pattern, a) {
			return true
		}
	}
	return false
}
