"""Tests of the measure package."""
