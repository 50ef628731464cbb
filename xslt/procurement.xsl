<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise received purchases (GLExport purchaseTransactions) → Sage 50 UK purchase
  invoices and credits, Zynk schema: Company/Suppliers/Supplier (one per vendor company) and
  Company/Transactions/Transaction (one split per purchase line, carriage included).

  * Each purchase arrives resolved (<resolved>, see tasks/resolved.py): the supplier A/C
    (vendor account number, else Vendor Nbr, else the company's Vendor ID), the type (a return
    is a PurchaseCredit), the Reference (the supplier's invoice number, else the PO number,
    shortened to 10 characters without two documents sharing one) and one line per split
    with its share of ConnectWise's VAT, so the splits add up to it exactly.
  * SecondReference is the document's key, so two receipts of one supplier stay apart.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:key name="company" match="/cwsage/export/companies/item" use="id"/>
  <xsl:key name="doc-by-vendor" match="/cwsage/export/purchaseTransactions/item" use="company/id"/>

  <xsl:template match="/cwsage">
    <Company>
      <Suppliers>
        <xsl:apply-templates select="export/vendors/item[count(key('doc-by-vendor', vendor/id)) &gt; 0]"/>
      </Suppliers>
      <Transactions>
        <xsl:apply-templates select="export/purchaseTransactions/item/resolved/lines/item"/>
      </Transactions>
    </Company>
  </xsl:template>

  <!-- A vendor company → a Sage supplier -->
  <xsl:template match="vendors/item">
    <xsl:variable name="company" select="key('company', vendor/id)"/>
    <xsl:variable name="doc" select="key('doc-by-vendor', vendor/id)[1]"/>
    <Supplier>
      <Id><xsl:value-of select="concat('CW-VEN-', vendor/id)"/></Id>
      <AccountReference><xsl:value-of select="$doc/resolved/account"/></AccountReference>
      <CompanyName><xsl:call-template name="text"><xsl:with-param name="value" select="vendor/name"/></xsl:call-template></CompanyName>
      <SupplierInvoiceAddress>
        <xsl:call-template name="address"><xsl:with-param name="company" select="$company"/></xsl:call-template>
        <Country>
          <xsl:choose>
            <xsl:when test="string-length($company/country/identifier) = 2"><xsl:value-of select="$company/country/identifier"/></xsl:when>
            <xsl:otherwise>GB</xsl:otherwise>
          </xsl:choose>
        </Country>
        <Telephone><xsl:call-template name="text"><xsl:with-param name="value" select="$company/phoneNumber"/><xsl:with-param name="max" select="30"/></xsl:call-template></Telephone>
      </SupplierInvoiceAddress>
      <!-- the supplier's own currency (its ConnectWise company), not that of whichever of its
           purchases comes first: Sage fixes an account's currency when it is created -->
      <Currency>
        <xsl:choose>
          <xsl:when test="normalize-space($company/currency/currencyCode) != ''"><xsl:value-of select="normalize-space($company/currency/currencyCode)"/></xsl:when>
          <xsl:when test="normalize-space($company/currency/isoCode) != ''"><xsl:value-of select="normalize-space($company/currency/isoCode)"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="$doc/resolved/currency"/></xsl:otherwise>
        </xsl:choose>
      </Currency>
      <xsl:if test="string(number(dueDays)) != 'NaN'"><PaymentDays><xsl:value-of select="dueDays"/></PaymentDays></xsl:if>
    </Supplier>
  </xsl:template>

  <!-- A resolved line → one split of the document's purchase invoice or credit -->
  <xsl:template match="resolved/lines/item">
    <xsl:variable name="doc" select="../.."/>
    <Transaction>
      <Id><xsl:value-of select="split_id"/></Id>
      <TransactionType>
        <xsl:choose>
          <xsl:when test="$doc/type = 'PC'">PurchaseCredit</xsl:when>
          <xsl:otherwise>PurchaseInvoice</xsl:otherwise>
        </xsl:choose>
      </TransactionType>
      <AccountReference><xsl:value-of select="$doc/account"/></AccountReference>
      <TransactionDate><xsl:call-template name="date"><xsl:with-param name="value" select="$doc/date"/></xsl:call-template></TransactionDate>
      <xsl:if test="normalize-space($doc/due_date) != ''"><DueDate><xsl:call-template name="date"><xsl:with-param name="value" select="$doc/due_date"/></xsl:call-template></DueDate></xsl:if>
      <Reference><xsl:value-of select="$doc/reference"/></Reference>
      <SecondReference><xsl:value-of select="$doc/../@key"/></SecondReference>
      <NominalCode><xsl:value-of select="nominal"/></NominalCode>
      <Details><xsl:call-template name="text"><xsl:with-param name="value" select="name"/></xsl:call-template></Details>
      <NetAmount><xsl:value-of select="net"/></NetAmount>
      <TaxCode><xsl:value-of select="tax_code"/></TaxCode>
      <TaxAmount><xsl:value-of select="tax"/></TaxAmount>
      <Currency><xsl:value-of select="$doc/currency"/></Currency>
      <xsl:if test="normalize-space($doc/exchange_rate) != ''"><ExchangeRate><xsl:value-of select="$doc/exchange_rate"/></ExchangeRate></xsl:if>
    </Transaction>
  </xsl:template>

</xsl:stylesheet>
