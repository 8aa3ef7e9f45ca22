"""Month-end forecast and spike arithmetic, against hand-computed cases."""

from datetime import date, timedelta
from decimal import Decimal

from alerts.forecast import month_end_forecast
from alerts.spikes import find_spikes, judge

D = Decimal


def days(start: date, amounts) -> dict[date, Decimal]:
    return {start + timedelta(days=n): D(a) for n, a in enumerate(amounts) if a is not None}


class TestForecast:
    def test_mid_month_run_rate(self):
        # November: 30 days. 22 complete days at $10, today (the 23rd) $4 so far.
        daily = days(date(2026, 11, 1), [10] * 22 + [4])

        result = month_end_forecast(daily, date(2026, 11, 23))

        assert result.actual == D("224")
        # 22 x 10 + 10 x (30 - 22) = 300
        assert result.forecast == D("300.00")
        assert result.complete_days == 22

    def test_first_day_of_the_month_has_no_forecast(self):
        result = month_end_forecast({date(2026, 12, 1): D("7")}, date(2026, 12, 1))

        assert (result.actual, result.forecast, result.complete_days) == (D("7"), None, 0)

    def test_second_day_uses_the_first(self):
        daily = {date(2026, 12, 1): D("12.40"), date(2026, 12, 2): D("3")}

        result = month_end_forecast(daily, date(2026, 12, 2))

        # 12.40 + 12.40 x 30 = 384.40 (December: 31 days)
        assert result.forecast == D("384.40")

    def test_a_missing_day_is_unknown_not_zero(self):
        # February 2026 (28 days); the 5th has no data; today is the 10th.
        amounts = [20, 20, 20, 20, None, 20, 20, 20, 20]
        daily = days(date(2026, 2, 1), amounts)

        result = month_end_forecast(daily, date(2026, 2, 10))

        # 8 complete days with data, $160: rate 20; 160 + 20 x (28 - 8) = 560.
        assert result.forecast == D("560.00")
        assert result.actual == D("160")

    def test_days_of_other_months_are_ignored(self):
        daily = {date(2026, 10, 31): D("999"), date(2026, 11, 1): D("5"), date(2026, 11, 2): D("1")}

        result = month_end_forecast(daily, date(2026, 11, 2))

        assert result.actual == D("6")
        assert result.forecast == D("150.00")  # 5 + 5 x 29


class TestSpikes:
    DAY = date(2026, 11, 22)

    def baseline(self, amounts, today_amount):
        daily = {self.DAY - timedelta(days=n + 1): D(a) for n, a in enumerate(amounts)}
        daily[self.DAY] = D(today_amount)
        return daily

    def test_steady_service_doubling_is_a_spike(self):
        spike, middle, threshold = judge(self.baseline([100] * 14, 200), self.DAY)

        # MAD 0: the 50% floor decides: 100 + 50 = 150 < 200.
        assert (spike, middle, threshold) == (True, D(100), D(150))

    def test_noisy_service_within_its_spread_is_not(self):
        amounts = [80, 120] * 7  # median 100, MAD 20, spread 29.652, 3 spreads 88.956
        spike, _, threshold = judge(self.baseline(amounts, 180), self.DAY)

        assert spike is False
        assert threshold == D("188.9560")

    def test_small_increases_are_not_spikes(self):
        spike, _, _ = judge(self.baseline([2] * 14, 9), self.DAY)

        assert spike is False  # +$7 is below the $10 floor

    def test_one_earlier_spike_does_not_raise_the_baseline(self):
        amounts = [100] * 13 + [5000]
        spike, middle, _ = judge(self.baseline(amounts, 300), self.DAY)

        assert (spike, middle) == (True, D(100))

    def test_missing_days_count_as_zero_spend(self):
        series = {("111111111111", "Amazon S3"): {self.DAY: D(50)}}

        (found,) = find_spikes(series, self.DAY)

        assert (found.service, found.baseline_median, found.increase) == ("Amazon S3", 0, 50)
