"""Security properties of terraform/, read from the HCL itself (python-hcl2), no AWS needed.

checkov (scripts/check_terraform.sh) runs the generic rules; these tests pin Spendlens' own
decisions, on parsed values rather than text: the database is private, encrypted and admits the
tasks only; no IAM statement grants a service-wide or "*" action, or "*" resources to anything
that writes (the exceptions are listed below, each with its reason); secrets reach containers
only as ECS `secrets`; customer roles demand the ExternalId; ECR tags are immutable and scanned;
the ALB drops invalid headers and only redirects on HTTP; every log group has a retention.

Expressions are evaluated as far as the checks need (locals, merge(), object literals, variable
defaults and validations); anything the evaluator cannot follow is reported as a problem rather
than passed. The `*_catches_*` tests feed each checker a deliberately bad module, so a checker
that stopped finding problems would fail too.
"""
