WITH typed AS (
  SELECT
    nullif(CAST("billedcost" AS varchar), '') AS "BilledCost",
    nullif(CAST("effectivecost" AS varchar), '') AS "EffectiveCost",
    nullif(to_iso8601("chargeperiodstart"), '') AS "ChargePeriodStart",
    nullif(to_iso8601("billingperiodstart"), '') AS "BillingPeriodStart",
    nullif("billingcurrency", '') AS "BillingCurrency",
    nullif("providername", '') AS "ProviderName",
    nullif("subaccountid", '') AS "SubAccountId",
    nullif("servicename", '') AS "ServiceName",
    nullif("chargecategory", '') AS "ChargeCategory",
    nullif("subaccountname", '') AS "SubAccountName",
    nullif("regionid", '') AS "RegionId",
    nullif("resourceid", '') AS "ResourceId",
    nullif(json_format(CAST("tags" AS json)), '') AS "Tags"
  FROM "billing"."focus_export"
  WHERE "billing_period" = '2024-09'
),
checked AS (
  SELECT *, CASE
      WHEN ("SubAccountId" IS NULL OR length(trim("SubAccountId")) = 0) THEN 1
      WHEN coalesce(length("SubAccountId") > 255, false) THEN 2
      WHEN coalesce(strpos("SubAccountId", chr(0)) > 0, false) THEN 3
      WHEN ("ServiceName" IS NULL OR length(trim("ServiceName")) = 0) THEN 4
      WHEN coalesce(length("ServiceName") > 200, false) THEN 5
      WHEN coalesce(strpos("ServiceName", chr(0)) > 0, false) THEN 6
      WHEN ("ProviderName" IS NULL OR length(trim("ProviderName")) = 0) THEN 7
      WHEN coalesce(length("ProviderName") > 64, false) THEN 8
      WHEN coalesce(strpos("ProviderName", chr(0)) > 0, false) THEN 9
      WHEN ("ChargePeriodStart" IS NULL OR length(trim("ChargePeriodStart")) = 0) THEN 10
      WHEN NOT (coalesce(regexp_like("ChargePeriodStart", '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]00(:?00)?)?\z'), false) AND coalesce(year(try(CAST(substr("ChargePeriodStart", 1, 10) AS date))) >= 1, false)) THEN 11
      WHEN ("BillingPeriodStart" IS NULL OR length(trim("BillingPeriodStart")) = 0) THEN 12
      WHEN NOT (coalesce(regexp_like("BillingPeriodStart", '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]00(:?00)?)?\z'), false) AND coalesce(year(try(CAST(substr("BillingPeriodStart", 1, 10) AS date))) >= 1, false)) THEN 13
      WHEN "BilledCost" IS NULL THEN 14
      WHEN NOT coalesce(regexp_like("BilledCost", '^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\z'), false) THEN 15
      WHEN coalesce(abs(try(CAST("BilledCost" AS double))) >= 1E+14, false) THEN 16
      WHEN coalesce(length(regexp_replace(regexp_replace(regexp_replace(regexp_replace("BilledCost", '^([+-]?\d*\.\d{12})\d+\z', '$1'), '^([+-]?)0+(\d)', '$1$2'), '[eE].*', ''), '[^0-9]', '')) > 38, false) THEN 17
      WHEN "EffectiveCost" IS NULL THEN 18
      WHEN NOT coalesce(regexp_like("EffectiveCost", '^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\z'), false) THEN 19
      WHEN coalesce(abs(try(CAST("EffectiveCost" AS double))) >= 1E+14, false) THEN 20
      WHEN coalesce(length(regexp_replace(regexp_replace(regexp_replace(regexp_replace("EffectiveCost", '^([+-]?\d*\.\d{12})\d+\z', '$1'), '^([+-]?)0+(\d)', '$1$2'), '[eE].*', ''), '[^0-9]', '')) > 38, false) THEN 21
      WHEN "BillingCurrency" IS NULL THEN 22
      WHEN NOT coalesce(regexp_like("BillingCurrency", '^[A-Z]{3}\z'), false) THEN 23
      WHEN coalesce(length("RegionId") > 64, false) THEN 24
      WHEN coalesce(strpos("RegionId", chr(0)) > 0, false) THEN 25
      WHEN coalesce(length("ChargeCategory") > 32, false) THEN 26
      WHEN coalesce(strpos("ChargeCategory", chr(0)) > 0, false) THEN 27
      WHEN coalesce(length("ResourceId") > 512, false) THEN 28
      WHEN coalesce(strpos("ResourceId", chr(0)) > 0, false) THEN 29
      ELSE 0 END AS reason
  FROM typed
),
accepted AS (
  SELECT
    reason,
    "SubAccountId", "ServiceName", "ProviderName", "ChargePeriodStart", "BillingPeriodStart", "BilledCost", "EffectiveCost", "BillingCurrency", "RegionId", "ChargeCategory", "ResourceId",
    IF(reason = 0, "ProviderName") AS "provider",
    IF(reason = 0, "SubAccountId") AS "sub_account_id",
    IF(reason = 0, substr("ChargePeriodStart", 1, 10)) AS "usage_date",
    IF(reason = 0, "ServiceName") AS "service",
    IF(reason = 0, coalesce("RegionId", '')) AS "region",
    IF(reason = 0, coalesce("ResourceId", '')) AS "resource_id",
    IF(reason = 0, coalesce("ChargeCategory", '')) AS "charge_category",
    IF(reason = 0, "BillingCurrency") AS "currency",
    IF(reason = 0, substr("BillingPeriodStart", 1, 10)) AS "billing_period",
    IF(reason = 0, CASE WHEN abs(CAST("BilledCost" AS double)) < 1E-12 THEN DECIMAL '0' WHEN regexp_like("BilledCost", '[eE]') THEN CAST(CAST("BilledCost" AS double) AS decimal(38, 12)) ELSE CAST(regexp_replace(regexp_replace("BilledCost", '^([+-]?\d*\.\d{12})\d+\z', '$1'), '^([+-]?)0+(\d)', '$1$2') AS decimal(38, 12)) END) AS "billed",
    IF(reason = 0, CASE WHEN abs(CAST("EffectiveCost" AS double)) < 1E-12 THEN DECIMAL '0' WHEN regexp_like("EffectiveCost", '[eE]') THEN CAST(CAST("EffectiveCost" AS double) AS decimal(38, 12)) ELSE CAST(regexp_replace(regexp_replace("EffectiveCost", '^([+-]?\d*\.\d{12})\d+\z', '$1'), '^([+-]?)0+(\d)', '$1$2') AS decimal(38, 12)) END) AS "effective",
    IF(reason = 0, "Tags") AS "tags",
    IF(reason = 0, "SubAccountName") AS "sub_account_name"
  FROM checked
)
SELECT
  grouping("provider", "sub_account_id", "usage_date", "service", "region", "resource_id", "charge_category") <> 0 AS is_total,
  "provider", "sub_account_id", "usage_date", "service", "region", "resource_id", "charge_category",
  min(currency) AS currency_min,
  max(currency) AS currency_max,
  min(billing_period) AS billing_period_min,
  max(billing_period) AS billing_period_max,
  sum(billed) AS billed,
  sum(effective) AS effective,
  min(tags) FILTER (WHERE try(CAST(json_parse(tags) AS map(varchar, json))) IS NOT NULL) AS tags,
  max(sub_account_name) AS sub_account_name,
  count(*) AS row_count,
  count_if(reason = -1) AS rows_skipped,
  count_if(reason = 1) AS reject_01,
  arbitrary(IF(reason = 1, substr("SubAccountId", 1, 200))) AS reject_01_example,
  count_if(reason = 2) AS reject_02,
  arbitrary(IF(reason = 2, substr("SubAccountId", 1, 200))) AS reject_02_example,
  count_if(reason = 3) AS reject_03,
  arbitrary(IF(reason = 3, substr("SubAccountId", 1, 200))) AS reject_03_example,
  count_if(reason = 4) AS reject_04,
  arbitrary(IF(reason = 4, substr("ServiceName", 1, 200))) AS reject_04_example,
  count_if(reason = 5) AS reject_05,
  arbitrary(IF(reason = 5, substr("ServiceName", 1, 200))) AS reject_05_example,
  count_if(reason = 6) AS reject_06,
  arbitrary(IF(reason = 6, substr("ServiceName", 1, 200))) AS reject_06_example,
  count_if(reason = 7) AS reject_07,
  arbitrary(IF(reason = 7, substr("ProviderName", 1, 200))) AS reject_07_example,
  count_if(reason = 8) AS reject_08,
  arbitrary(IF(reason = 8, substr("ProviderName", 1, 200))) AS reject_08_example,
  count_if(reason = 9) AS reject_09,
  arbitrary(IF(reason = 9, substr("ProviderName", 1, 200))) AS reject_09_example,
  count_if(reason = 10) AS reject_10,
  arbitrary(IF(reason = 10, substr("ChargePeriodStart", 1, 200))) AS reject_10_example,
  count_if(reason = 11) AS reject_11,
  arbitrary(IF(reason = 11, substr("ChargePeriodStart", 1, 200))) AS reject_11_example,
  count_if(reason = 12) AS reject_12,
  arbitrary(IF(reason = 12, substr("BillingPeriodStart", 1, 200))) AS reject_12_example,
  count_if(reason = 13) AS reject_13,
  arbitrary(IF(reason = 13, substr("BillingPeriodStart", 1, 200))) AS reject_13_example,
  count_if(reason = 14) AS reject_14,
  arbitrary(IF(reason = 14, substr("BilledCost", 1, 200))) AS reject_14_example,
  count_if(reason = 15) AS reject_15,
  arbitrary(IF(reason = 15, substr("BilledCost", 1, 200))) AS reject_15_example,
  count_if(reason = 16) AS reject_16,
  arbitrary(IF(reason = 16, substr("BilledCost", 1, 200))) AS reject_16_example,
  count_if(reason = 17) AS reject_17,
  arbitrary(IF(reason = 17, substr("BilledCost", 1, 200))) AS reject_17_example,
  count_if(reason = 18) AS reject_18,
  arbitrary(IF(reason = 18, substr("EffectiveCost", 1, 200))) AS reject_18_example,
  count_if(reason = 19) AS reject_19,
  arbitrary(IF(reason = 19, substr("EffectiveCost", 1, 200))) AS reject_19_example,
  count_if(reason = 20) AS reject_20,
  arbitrary(IF(reason = 20, substr("EffectiveCost", 1, 200))) AS reject_20_example,
  count_if(reason = 21) AS reject_21,
  arbitrary(IF(reason = 21, substr("EffectiveCost", 1, 200))) AS reject_21_example,
  count_if(reason = 22) AS reject_22,
  arbitrary(IF(reason = 22, substr("BillingCurrency", 1, 200))) AS reject_22_example,
  count_if(reason = 23) AS reject_23,
  arbitrary(IF(reason = 23, substr("BillingCurrency", 1, 200))) AS reject_23_example,
  count_if(reason = 24) AS reject_24,
  arbitrary(IF(reason = 24, substr("RegionId", 1, 200))) AS reject_24_example,
  count_if(reason = 25) AS reject_25,
  arbitrary(IF(reason = 25, substr("RegionId", 1, 200))) AS reject_25_example,
  count_if(reason = 26) AS reject_26,
  arbitrary(IF(reason = 26, substr("ChargeCategory", 1, 200))) AS reject_26_example,
  count_if(reason = 27) AS reject_27,
  arbitrary(IF(reason = 27, substr("ChargeCategory", 1, 200))) AS reject_27_example,
  count_if(reason = 28) AS reject_28,
  arbitrary(IF(reason = 28, substr("ResourceId", 1, 200))) AS reject_28_example,
  count_if(reason = 29) AS reject_29,
  arbitrary(IF(reason = 29, substr("ResourceId", 1, 200))) AS reject_29_example
FROM accepted
GROUP BY GROUPING SETS (("provider", "sub_account_id", "usage_date", "service", "region", "resource_id", "charge_category"), ())
