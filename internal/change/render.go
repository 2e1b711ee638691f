package change

import (
	"coldchain/internal/plan"
	"fmt"
	"io"
	"sort"
	"strings"
)

// unknownSource is the URN an unknown value comes from, "" for a known value.
func unknownSource(s string) string {
	if rest, ok := strings.CutPrefix(s, plan.UnknownPrefix); ok {
		return rest
	}
	return ""
}

// Summary is the one-line count of a preview: "2 to replace (1 deleted first), 3 to update,
// 150 unchanged".
func (p *Preview) Summary() string {
	var parts []string
	count := func(op, label string, extra ...string) {
		n := p.ChangeSummary[op]
		if n == 0 {
			return
		}
		s := fmt.Sprintf("%d %s", n, label)
		var ex []string
		for _, e := range extra {
			if e != "" {
				ex = append(ex, e)
			}
		}
		if len(ex) > 0 {
			s += " (" + strings.Join(ex, ", ") + ")"
		}
		parts = append(parts, s)
	}
	var deleteFirst, stopped, deferred int
	for _, s := range p.Steps {
		if s.Op == OpReplace && s.DeleteBeforeReplace {
			deleteFirst++
		}
		if s.Protected {
			stopped++
		}
		if len(s.Deferred) > 0 {
			deferred++
		}
	}
	count(OpReplace, "to replace", nonZero(deleteFirst, "deleted first"))
	count(OpCreate, "to create")
	count(OpUpdate, "to update", nonZero(deferred, "deferred to a maintenance window"))
	count(OpDelete, "to delete")
	count(OpSame, "unchanged")
	s := strings.Join(parts, ", ")
	if stopped > 0 {
		s += fmt.Sprintf("; pulumi up stops at %d protected", stopped)
	}
	return s
}

func nonZero(n int, label string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s", n, label)
}

// Blocked are the steps protect stops: "pulumi up" fails before it changes anything.
func (p *Preview) Blocked() []*Step {
	var out []*Step
	for _, s := range p.Steps {
		if s.Protected {
			out = append(out, s)
		}
	}
	return out
}

// Changed are the steps that change something, in plan order.
func (p *Preview) Changed() []*Step {
	var out []*Step
	for _, s := range p.Steps {
		if s.Op != OpSame {
			out = append(out, s)
		}
	}
	return out
}

// symbol is how a step's line starts, in Terraform's signs, which the team reviews by: "-/+"
// is a replacement that deletes first, "+/-" one that creates first.
func (s *Step) symbol() string {
	switch s.Op {
	case OpCreate:
		return "+  "
	case OpDelete:
		return "-  "
	case OpUpdate:
		return "~  "
	case OpReplace:
		if s.DeleteBeforeReplace {
			return "-/+"
		}
		return "+/-"
	}
	return "   "
}

// Describe is what the step does, in words.
func (s *Step) Describe() string {
	var parts []string
	switch s.Op {
	case OpReplace:
		if s.DeleteBeforeReplace {
			parts = append(parts, "replaced: the old one deleted first")
		} else {
			parts = append(parts, "replaced: the new one created first")
		}
		parts = append(parts, "because of "+strings.Join(s.ReplaceReasons, ", "))
		if s.RetainOnDelete {
			parts = append(parts, "the old one kept in AWS, forgotten by the stack")
		}
	case OpDelete:
		parts = append(parts, "deleted")
		if s.RetainOnDelete {
			parts = append(parts, "kept in AWS, forgotten by the stack")
		}
	case OpCreate:
		parts = append(parts, "created")
	case OpUpdate:
		parts = append(parts, "updated in place")
	}
	if len(s.Deferred) > 0 {
		parts = append(parts, "AWS applies "+strings.Join(s.Deferred, ", ")+" at the next maintenance window")
	}
	if s.Protected {
		parts = append(parts, "PROTECTED: pulumi up stops here")
	}
	if s.Keep && (s.Op == OpReplace || s.Op == OpDelete) && !s.Protected && !s.RetainOnDelete {
		parts = append(parts, "HOLDS DATA")
	}
	return strings.Join(parts, "; ")
}

// Write prints the preview for a reviewer: the summary, what protect stops, then every step
// that changes something with its changed properties and their values (inside a JSON
// document, the paths that differ).
func (p *Preview) Write(w io.Writer, against string) {
	fmt.Fprintf(w, "Changes to %s/%s against %s: %s\n", p.Project, p.Stack, against, p.Summary())
	if blocked := p.Blocked(); len(blocked) > 0 {
		fmt.Fprintln(w, "\npulumi up stops before changing anything: these are protected and would be replaced or deleted")
		fmt.Fprintln(w, `(docs/changing-a-stack.md, says how each such change is done):`)
		for _, s := range blocked {
			fmt.Fprintf(w, "    %s %s  %s\n", s.Type, s.Name, strings.Join(s.ReplaceReasons, ", "))
		}
	}
	changed := p.Changed()
	if len(changed) == 0 {
		fmt.Fprintln(w, "\nNo changes.")
		return
	}
	fmt.Fprintln(w)
	for _, s := range changed {
		fmt.Fprintf(w, "%s %s  %s  (%s)\n", s.symbol(), s.Type, s.Name, s.Describe())
		if s.OldURN != "" {
			fmt.Fprintf(w, "        (the stack holds it as %s)\n", s.OldURN)
		}
		paths := make([]string, 0, len(s.DetailedDiff))
		for path := range s.DetailedDiff {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			d := s.DetailedDiff[path]
			inner := documentChanges(d.Old, d.New)
			line := fmt.Sprintf("        %s: %s -> %s", path, show(d.Old, d.Kind == "add" || d.Kind == "add-replace"),
				show(d.New, d.Kind == "delete" || d.Kind == "delete-replace"))
			if src := unknownSource(fmt.Sprint(d.New)); src != "" {
				line = fmt.Sprintf("        %s: %s -> (known after the update: %s)", path, show(d.Old, false), describeURN(src, p))
			}
			if strings.HasSuffix(d.Kind, "-replace") {
				line += "  forces replacement"
			}
			if inner != nil {
				line = fmt.Sprintf("        %s: a JSON document", path)
				if strings.HasSuffix(d.Kind, "-replace") {
					line += " (forces replacement)"
				}
				line += ", changed at:"
			}
			fmt.Fprintln(w, line)
			for i, c := range inner {
				if i == 8 {
					fmt.Fprintf(w, "            ... and %d more\n", len(inner)-i)
					break
				}
				fmt.Fprintln(w, "            "+c)
			}
		}
		for _, note := range s.Notes {
			fmt.Fprintln(w, "        note: "+note)
		}
	}
}

// describeURN names the step of a URN: "the replaced TaskDefinition backend".
func describeURN(urn string, p *Preview) string {
	for _, s := range p.Steps {
		if s.URN == urn {
			kind := s.Type[strings.LastIndex(s.Type, ":")+1:]
			switch s.Op {
			case OpReplace:
				return "the replacement of " + kind + " " + s.Name
			case OpCreate:
				return "the new " + kind + " " + s.Name
			}
			return kind + " " + s.Name
		}
	}
	return urn
}
