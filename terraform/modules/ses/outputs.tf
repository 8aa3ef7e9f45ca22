output "identity_arn" {
  description = "ARN of the domain identity (the task role may send from it only)."
  value       = aws_sesv2_email_identity.this.arn
}

output "configuration_set_arn" {
  description = "ARN of the configuration set the identity sends with by default (part of the send authorization)."
  value       = aws_sesv2_configuration_set.this.arn
}

output "configuration_set_name" {
  description = "Name of the configuration set."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "dns_records" {
  description = "DNS records to create in the domain's zone: three DKIM CNAMEs, the MAIL FROM MX and SPF records, and a DMARC starting point."
  value = concat(
    [
      for token in aws_sesv2_email_identity.this.dkim_signing_attributes[0].tokens : {
        name  = "${token}._domainkey.${var.domain}"
        type  = "CNAME"
        value = "${token}.dkim.amazonses.com"
      }
    ],
    local.mail_from_domain == "" ? [] : [
      {
        name  = local.mail_from_domain
        type  = "MX"
        value = "10 feedback-smtp.${data.aws_region.current.name}.amazonses.com"
      },
      {
        name  = local.mail_from_domain
        type  = "TXT"
        value = "v=spf1 include:amazonses.com ~all"
      },
    ],
    [
      {
        name  = "_dmarc.${var.domain}"
        type  = "TXT"
        value = var.dmarc_policy
      },
    ],
  )
}
