package main

import (
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// This file holds the limits AWS enforces that the program computes against: the provider
// would only report them at deploy time, and mocks never do.

var pgIdentifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// reservedWords are names RDS refuses as a master user or database name: PostgreSQL's
// reserved key words and the roles RDS keeps for itself.
var reservedWords = []string{
	"admin", "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "authorization",
	"both", "case", "cast", "check", "collate", "column", "constraint", "create", "current_user",
	"default", "desc", "distinct", "do", "else", "end", "except", "false", "for", "foreign",
	"from", "grant", "group", "having", "in", "into", "is", "join", "limit", "not", "null",
	"offset", "on", "only", "or", "order", "postgres", "primary", "public", "references",
	"rdsadmin", "rdsrepladmin", "rds_superuser", "select", "session_user", "table", "template0",
	"template1", "then", "to", "true", "union", "unique", "user", "using", "when", "where", "with",
}

func isReservedWord(s string) bool {
	for _, w := range reservedWords {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// cacheVersions are the engine versions ElastiCache runs, by engine: Redis OSS 6.2 to 7.1, and
// Valkey 7.2 and 8 (the parameter group family, "redis7" or "valkey8", follows the version; the
// program uses the engine's default group of that family). defaultCacheVersions is each
// engine's default.
var (
	cacheVersions        = map[string][]string{"redis": {"6.2", "7.0", "7.1"}, "valkey": {"7.2", "8.0", "8.1"}}
	defaultCacheVersions = map[string]string{"redis": "7.1", "valkey": "8.0"}
)

// isSmallInstance is true for the burstable micro and small classes, which Performance
// Insights does not support.
func isSmallInstance(class string) bool {
	return strings.HasSuffix(class, ".micro") || strings.HasSuffix(class, ".small")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ptr returns a pointer to v, for the SDKs' optional plain arguments.
func ptr[T any](v T) *T { return &v }

// optionalString is nil for "", so that an unset value is not sent as an empty string.
func optionalString(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

// optionalStrings is nil for an empty list, so that "no restriction" is not sent as [].
func optionalStrings(items []string) pulumi.StringArrayInput {
	if len(items) == 0 {
		return nil
	}
	return pulumi.ToStringArray(items)
}
