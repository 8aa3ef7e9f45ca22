provider "aws" {
  region = var.region

  # Refuse to run against any account but the one the tfvars name.
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = {
      Project     = "spendlens"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
