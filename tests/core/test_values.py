"""Numbers as the commands, the reports and the window print them."""

import math

from mmstudio.core.values import MISSING, num


def test_a_number_that_rounds_to_zero_shows_no_minus_sign():
    assert num(-0.0001) == "0.000"           # "-0.000" read as a loss where there is none
    assert num(-0.0006) == "-0.001"
    assert num(-0.4, 0) == "0" and num(0.12345, 2) == "0.12"


def test_no_finite_number_is_a_dash():
    assert num(None) == num(math.nan) == num(math.inf) == MISSING
    assert num("n/a") == "n/a"
