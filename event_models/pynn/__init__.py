"""Converted networks as backend-neutral graphs for the PyNN backends: conversion, streaming, comparison."""
