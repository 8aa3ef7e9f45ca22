# SES domain identity for alert e-mail: Easy DKIM (2048-bit), an optional custom MAIL FROM
# subdomain (SPF alignment), and a configuration set that requires TLS to the receiving server
# and suppresses addresses that bounced or complained. DNS is not managed here: the module
# outputs the records to create wherever the domain's zone lives.

data "aws_region" "current" {}

locals {
  mail_from_domain = var.mail_from_subdomain == "" ? "" : "${var.mail_from_subdomain}.${var.domain}"
}

resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = var.name

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }

  tags = var.tags
}

resource "aws_sesv2_email_identity" "this" {
  email_identity         = var.domain
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name

  dkim_signing_attributes {
    next_signing_key_length = "RSA_2048_BIT"
  }

  tags = var.tags
}

resource "aws_sesv2_email_identity_mail_from_attributes" "this" {
  count = var.mail_from_subdomain == "" ? 0 : 1

  email_identity         = aws_sesv2_email_identity.this.email_identity
  mail_from_domain       = local.mail_from_domain
  behavior_on_mx_failure = "USE_DEFAULT_VALUE"
}
